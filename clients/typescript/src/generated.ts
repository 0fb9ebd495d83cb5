export type Maybe<T> = T | null;
export type InputMaybe<T> = Maybe<T>;
export type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
export type MakeOptional<T, K extends keyof T> = Omit<T, K> & { [SubKey in K]?: Maybe<T[SubKey]> };
export type MakeMaybe<T, K extends keyof T> = Omit<T, K> & { [SubKey in K]: Maybe<T[SubKey]> };
export type MakeEmpty<T extends { [key: string]: unknown }, K extends keyof T> = { [_ in K]?: never };
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string; }
  String: { input: string; output: string; }
  Boolean: { input: boolean; output: boolean; }
  Int: { input: number; output: number; }
  Float: { input: number; output: number; }
  /** An RFC 3339 / ISO 8601 timestamp. Output is always UTC. */
  DateTime: { input: string; output: string; }
  /**
   * Integer amount of micro-dollars (1 USD = 1,000,000 micros).
   * Serialized as a JSON number. Accepted as a JSON number or as a string of decimal
   * digits. Valid range is -(2^53 - 1) to 2^53 - 1, so JavaScript reads it exactly.
   * Anything else (fractions, exponents, out of range, other types) is a validation error.
   */
  Micros: { input: number; output: number; }
};

/** Who wrote a message. */
export type ChatMessageRole =
  | 'ASSISTANT'
  | 'SYSTEM'
  | 'TOOL'
  | 'USER';

/** The width of one point of a spend series; buckets are calendar-aligned in UTC like periods. */
export type ChatSpendBucket =
  | 'DAY'
  | 'MONTH'
  | 'WEEK';

/** Which tier of the hierarchy produced a user's effective limit: USER (their own override, wins whatever its value), GROUP (the lowest limit among their groups), DEFAULT (the deployment-wide default), DISABLED (limits are switched off: unlimited). */
export type ChatSpendLimitSource =
  | 'DEFAULT'
  | 'DISABLED'
  | 'GROUP'
  | 'USER';

/** SPEND_DESC: highest currentSpendMicros first. SHARE_OF_LIMIT_DESC: highest share of the effective limit first; unlimited users last. Ties: by username. */
export type ChatSpendRankingOrder =
  | 'SHARE_OF_LIMIT_DESC'
  | 'SPEND_DESC';

/** HELD: counts against the limit until settled, released or expired. SETTLED: its message is recorded. RELEASED: ended without a cost. EXPIRED: neither settled nor released within its TTL, so it no longer holds anything (a later settle still records the cost). */
export type ChatSpendReservationState =
  | 'EXPIRED'
  | 'HELD'
  | 'RELEASED'
  | 'SETTLED';

/** What a limit change touched. */
export type ChatUsageLimitChangeKind =
  | 'CONFIG'
  | 'GROUP_OVERRIDE'
  | 'USER_OVERRIDE';

/** The length of a spend-limit period. Periods are calendar-aligned in UTC: DAY is midnight to midnight, WEEK starts Monday 00:00, MONTH starts on the 1st at 00:00. */
export type ChatUsageLimitPeriod =
  | 'DAY'
  | 'MONTH'
  | 'WEEK';

/** Exactly one of userId and service. */
export type CreateApiTokenInput = {
  /** A label, 1 to 128 characters, e.g. where the token is used. */
  name: Scalars['String']['input'];
  /** The service account the token acts for. */
  service?: InputMaybe<ServiceAccount>;
  /** The live user the token acts for, with that user's role. */
  userId?: InputMaybe<Scalars['ID']['input']>;
};

/** A new chat. A child chat (parentChatId) must have the parent's owner. */
export type CreateChatInput = {
  /** The organization the chat belongs to. */
  organizationId: Scalars['ID']['input'];
  /** The live user whose spend the chat's messages count toward. */
  ownerId: Scalars['ID']['input'];
  /** The chat that started this sub-agent chat; it must have the same owner. */
  parentChatId?: InputMaybe<Scalars['ID']['input']>;
  /** At most 512 characters; null means empty. */
  title?: InputMaybe<Scalars['String']['input']>;
};

/** A new group in an organization. */
export type CreateGroupInput = {
  /** Picture URL; default empty. */
  avatarUrl?: InputMaybe<Scalars['String']['input']>;
  /** Shown to people; default empty. */
  displayName?: InputMaybe<Scalars['String']['input']>;
  /** Unique within the organization: 1 to 64 letters, digits, '.', '_' or '-'. */
  name: Scalars['String']['input'];
  /** The organization the group belongs to. */
  organizationId: Scalars['ID']['input'];
};

/** A new organization. Its Everyone group is created with it. */
export type CreateOrganizationInput = {
  /** Shown to people; default empty. */
  displayName?: InputMaybe<Scalars['String']['input']>;
  /** Unique, case-insensitively: 1 to 64 letters, digits, '.', '_' or '-'. */
  name: Scalars['String']['input'];
};

/** A new user. */
export type CreateUserInput = {
  /** Picture URL; default empty. */
  avatarUrl?: InputMaybe<Scalars['String']['input']>;
  /** Email address, if known. */
  email?: InputMaybe<Scalars['String']['input']>;
  /** A system account: not counted as a group member. Null means false. */
  isSystem?: InputMaybe<Scalars['Boolean']['input']>;
  /** Full name; default empty. */
  name?: InputMaybe<Scalars['String']['input']>;
  /** Organizations the user joins. An unknown one fails the whole call: no user is created. */
  organizationIds?: InputMaybe<Array<Scalars['ID']['input']>>;
  /** Deployment-wide role; null means MEMBER. */
  role?: InputMaybe<Role>;
  /** Unique among live users, case-insensitively: 1 to 64 letters, digits, '.', '_' or '-'. */
  username: Scalars['String']['input'];
};

/** The message to delete. */
export type DeleteChatMessageInput = {
  /** The message. */
  messageId: Scalars['ID']['input'];
};

/** Which group's override to remove. */
export type DeleteChatUsageLimitGroupOverrideInput = {
  /** The group whose override to remove. */
  groupId: Scalars['ID']['input'];
};

/** Whose override to remove. */
export type DeleteChatUsageLimitOverrideInput = {
  /** The user whose override to remove. */
  userId: Scalars['ID']['input'];
};

/** The user to delete. */
export type DeleteUserInput = {
  /** The user. */
  userId: Scalars['ID']['input'];
};

/** What a check or reserve does when the decision cannot be evaluated (database error or timeout): FAIL_OPEN allows the work (Coder's behaviour; the default), FAIL_CLOSED refuses it. */
export type EnforcementMode =
  | 'FAIL_CLOSED'
  | 'FAIL_OPEN';

/** A group and users to add to it or remove from it. */
export type GroupMembersInput = {
  /** The group; not an Everyone group. */
  groupId: Scalars['ID']['input'];
  /** The users, at most 1000. */
  userIds: Array<Scalars['ID']['input']>;
};

/** Micro-dollars per million tokens, each 0 or more; null or omitted means no price. */
export type ModelPricingInput = {
  /** Price of tokens read from the prompt cache. */
  cacheReadPricePerMillionTokens?: InputMaybe<Scalars['Micros']['input']>;
  /** Price of tokens written to the prompt cache. */
  cacheWritePricePerMillionTokens?: InputMaybe<Scalars['Micros']['input']>;
  /** Price of prompt tokens. */
  inputPricePerMillionTokens?: InputMaybe<Scalars['Micros']['input']>;
  /** Price of generated tokens. */
  outputPricePerMillionTokens?: InputMaybe<Scalars['Micros']['input']>;
};

/** A user and an organization. */
export type OrganizationMemberInput = {
  /** The organization. */
  organizationId: Scalars['ID']['input'];
  /** The user. */
  userId: Scalars['ID']['input'];
};

/** One message of a chat and what it cost (or the usage to price it from). */
export type RecordChatMessageInput = {
  /** The chat; its owner is charged. */
  chatId: Scalars['ID']['input'];
  /** Default: now. Decides which period the cost falls in; may be in the past (imports, late events). */
  createdAt?: InputMaybe<Scalars['DateTime']['input']>;
  /** 1 to 255 characters, unique per chat. A retry with the same key and input returns the first message (replayed: true) and counts nothing twice; the same key with other input is IDEMPOTENCY_CONFLICT. */
  idempotencyKey?: InputMaybe<Scalars['String']['input']>;
  /** Id of a ChatModel. */
  modelId?: InputMaybe<Scalars['ID']['input']>;
  /** Who wrote the message. */
  role: ChatMessageRole;
  /** When given, this is the cost and usage is not priced. Must be >= 0. */
  totalCostMicros?: InputMaybe<Scalars['Micros']['input']>;
  /** Tokens used; priced with the model's current prices when totalCostMicros is omitted. */
  usage?: InputMaybe<TokenUsageInput>;
};

/** A hold to end without a cost. */
export type ReleaseChatSpendInput = {
  /** The reservation to release. */
  reservationId: Scalars['ID']['input'];
};

/** Budget to hold for one LLM call. */
export type ReserveChatSpendInput = {
  /** The chat the call is for; one of the user's chats. */
  chatId?: InputMaybe<Scalars['ID']['input']>;
  /** The most the call may cost, >= 0: the guarantee needs the actual cost to stay within it. */
  estimateMicros: Scalars['Micros']['input'];
  /** 1 to 255 characters, unique per user. A retry with the same key and input returns the same reservation; the same key with other input is IDEMPOTENCY_CONFLICT. */
  idempotencyKey?: InputMaybe<Scalars['String']['input']>;
  /** The organization of the work, as for chatUsageLimitCheck: it scopes group limits and the settled message must be in it. Omitted: all organizations. */
  organizationId?: InputMaybe<Scalars['ID']['input']>;
  /** Default: the configured reservationTtlSeconds. 1 to 86400. */
  ttlSeconds?: InputMaybe<Scalars['Int']['input']>;
  /** The chat owner whose budget is held. */
  userId: Scalars['ID']['input'];
};

/** The token to revoke. */
export type RevokeApiTokenInput = {
  /** The token's id (not its secret). */
  tokenId: Scalars['ID']['input'];
};

/** A user's deployment-wide role. */
export type Role =
  | 'AUDITOR'
  | 'MEMBER'
  | 'OWNER';

/** Who a token acts for when it belongs to no user. */
export type ServiceAccount =
  | 'CHATD';

/** Archives or unarchives a chat. */
export type SetChatArchivedInput = {
  /** True to archive, false to unarchive. */
  archived: Scalars['Boolean']['input'];
  /** The chat. */
  chatId: Scalars['ID']['input'];
};

/** The call's actual cost, recorded against a reservation. */
export type SettleChatSpendInput = {
  /** The message as recordChatMessage takes it; its chat must belong to the reservation's user (and organization, when the reservation has one). */
  message: RecordChatMessageInput;
  /** The reservation to settle. */
  reservationId: Scalars['ID']['input'];
};

/** Tokens an LLM call used; each 0 or more. Null or omitted counts 0. */
export type TokenUsageInput = {
  /** Prompt tokens read from the cache. */
  cacheReadTokens?: InputMaybe<Scalars['Int']['input']>;
  /** Prompt tokens written to the cache. */
  cacheWriteTokens?: InputMaybe<Scalars['Int']['input']>;
  /** Prompt tokens, cache excluded. */
  inputTokens?: InputMaybe<Scalars['Int']['input']>;
  /** Generated tokens. */
  outputTokens?: InputMaybe<Scalars['Int']['input']>;
};

/** Changes to the configuration. A field left out keeps its stored value (a behaviour change: an omitted spendLimitMicros used to switch limits off); spendLimitMicros: null, given explicitly, switches limits off. */
export type UpdateChatUsageLimitConfigInput = {
  /** What a check or reserve does when it cannot be evaluated; omitted: unchanged. */
  enforcementMode?: InputMaybe<EnforcementMode>;
  /** Required with a spendLimitMicros; alone it changes the period. Omitted: unchanged. */
  period?: InputMaybe<ChatUsageLimitPeriod>;
  /** How long an unsettled reservation holds budget, 1 to 86400 seconds; omitted: unchanged. */
  reservationTtlSeconds?: InputMaybe<Scalars['Int']['input']>;
  /** The default limit per user per period, > 0, and then period is required too. Explicit null switches limits off (overrides, the stored period and amount are kept). Omitted: unchanged. */
  spendLimitMicros?: InputMaybe<Scalars['Micros']['input']>;
  /** 1 to 99 each, at most 5, no duplicates; stored ascending. Omitted: unchanged. */
  warningThresholdsPercent?: InputMaybe<Array<Scalars['Int']['input']>>;
};

/** A model is identified by (provider, model): an upsert replaces its prices and enabled flag. */
export type UpsertChatModelInput = {
  /** Whether chats may use it; null means true. */
  enabled?: InputMaybe<Scalars['Boolean']['input']>;
  /** The provider's model name, e.g. "claude-sonnet-4-5". */
  model: Scalars['String']['input'];
  /** Replaces all four prices; omitted means no prices. A model with neither an input nor an output price is unpriced: its usage costs nothing and counts toward no limit. */
  pricing?: InputMaybe<ModelPricingInput>;
  /** Who serves the model, e.g. "anthropic". */
  provider: Scalars['String']['input'];
};

/** A group's override. */
export type UpsertChatUsageLimitGroupOverrideInput = {
  /** The group; an Everyone group is allowed. */
  groupId: Scalars['ID']['input'];
  /** The group's limit per period; required, > 0. */
  spendLimitMicros?: InputMaybe<Scalars['Micros']['input']>;
};

/** A user's override. */
export type UpsertChatUsageLimitOverrideInput = {
  /** The user's limit per period; required, > 0. */
  spendLimitMicros?: InputMaybe<Scalars['Micros']['input']>;
  /** The user; deleted users cannot have one. */
  userId: Scalars['ID']['input'];
};

/** Why a mutation did not do what it was asked. */
export type UserErrorCode =
  | 'ALREADY_EXISTS'
  | 'CHAT_NOT_FOUND'
  | 'GROUP_NOT_FOUND'
  | 'IDEMPOTENCY_CONFLICT'
  | 'INVALID_INPUT'
  | 'INVALID_PERIOD'
  | 'INVALID_SPEND_LIMIT'
  | 'MODEL_NOT_FOUND'
  | 'ORGANIZATION_NOT_FOUND'
  | 'OVERRIDE_NOT_FOUND'
  | 'RESERVATION_NOT_FOUND'
  | 'RESERVATION_NOT_HELD'
  | 'TOKEN_NOT_FOUND'
  | 'USER_NOT_FOUND';

export type LimitChangesQueryVariables = Exact<{
  kind?: InputMaybe<ChatUsageLimitChangeKind>;
  userId?: InputMaybe<Scalars['ID']['input']>;
  groupId?: InputMaybe<Scalars['ID']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  after?: InputMaybe<Scalars['String']['input']>;
}>;


export type LimitChangesQuery = { __typename?: 'Query', chatUsageLimitChanges: { __typename?: 'ChatUsageLimitChangeConnection', totalCount: number, pageInfo: { __typename?: 'PageInfo', hasNextPage: boolean, endCursor: string | null }, nodes: Array<{ __typename?: 'ChatUsageLimitChange', id: string, at: string, kind: ChatUsageLimitChangeKind, actorService: ServiceAccount | null, oldSpendLimitMicros: number | null, newSpendLimitMicros: number | null, oldEnabled: boolean | null, newEnabled: boolean | null, oldPeriod: ChatUsageLimitPeriod | null, newPeriod: ChatUsageLimitPeriod | null, actor: { __typename?: 'User', id: string, username: string } | null, user: { __typename?: 'User', id: string, username: string } | null, group: { __typename?: 'Group', id: string, name: string } | null }> } };

export type ChatSpendSeriesFieldsFragment = { __typename?: 'ChatSpendSeries', bucket: ChatSpendBucket, totalMicros: number, points: Array<{ __typename?: 'ChatSpendPoint', start: string, end: string, spendMicros: number }> };

export type UserSpendHistoryQueryVariables = Exact<{
  userId: Scalars['ID']['input'];
  from: Scalars['DateTime']['input'];
  to: Scalars['DateTime']['input'];
  bucket?: InputMaybe<ChatSpendBucket>;
  organizationId?: InputMaybe<Scalars['ID']['input']>;
}>;


export type UserSpendHistoryQuery = { __typename?: 'Query', user: { __typename?: 'User', id: string, username: string, chatSpendHistory: { __typename?: 'ChatSpendSeries', bucket: ChatSpendBucket, totalMicros: number, points: Array<{ __typename?: 'ChatSpendPoint', start: string, end: string, spendMicros: number }> } } | null };

export type OrganizationSpendHistoryQueryVariables = Exact<{
  organizationId: Scalars['ID']['input'];
  from: Scalars['DateTime']['input'];
  to: Scalars['DateTime']['input'];
  bucket?: InputMaybe<ChatSpendBucket>;
}>;


export type OrganizationSpendHistoryQuery = { __typename?: 'Query', organization: { __typename?: 'Organization', id: string, name: string, chatSpendHistory: { __typename?: 'ChatSpendSeries', bucket: ChatSpendBucket, totalMicros: number, points: Array<{ __typename?: 'ChatSpendPoint', start: string, end: string, spendMicros: number }> } } | null };

export type GroupSpendHistoryQueryVariables = Exact<{
  groupId: Scalars['ID']['input'];
  from: Scalars['DateTime']['input'];
  to: Scalars['DateTime']['input'];
  bucket?: InputMaybe<ChatSpendBucket>;
}>;


export type GroupSpendHistoryQuery = { __typename?: 'Query', group: { __typename?: 'Group', id: string, name: string, chatSpendHistory: { __typename?: 'ChatSpendSeries', bucket: ChatSpendBucket, totalMicros: number, points: Array<{ __typename?: 'ChatSpendPoint', start: string, end: string, spendMicros: number }> } } | null };

export type AdminSpendPageQueryVariables = Exact<{
  overridesAfter?: InputMaybe<Scalars['String']['input']>;
  groupOverridesAfter?: InputMaybe<Scalars['String']['input']>;
}>;


export type AdminSpendPageQuery = { __typename?: 'Query', chatUsageLimitConfig: { __typename?: 'ChatUsageLimitConfig', enabled: boolean, spendLimitMicros: number | null, period: ChatUsageLimitPeriod, updatedAt: string, unpricedModelCount: number, overrides: { __typename?: 'ChatUsageLimitOverrideConnection', totalCount: number, pageInfo: { __typename?: 'PageInfo', hasNextPage: boolean, endCursor: string | null }, nodes: Array<{ __typename?: 'ChatUsageLimitOverride', spendLimitMicros: number, user: { __typename?: 'User', id: string, username: string, name: string, avatarUrl: string } }> }, groupOverrides: { __typename?: 'ChatUsageLimitGroupOverrideConnection', totalCount: number, pageInfo: { __typename?: 'PageInfo', hasNextPage: boolean, endCursor: string | null }, nodes: Array<{ __typename?: 'ChatUsageLimitGroupOverride', spendLimitMicros: number, memberCount: number, group: { __typename?: 'Group', id: string, name: string, displayName: string, organization: { __typename?: 'Organization', id: string, name: string } } }> } } };

export type UserErrorFieldsFragment = { __typename?: 'UserError', code: UserErrorCode, message: string, field: Array<string> | null };

export type UpdateChatUsageLimitConfigMutationVariables = Exact<{
  input: UpdateChatUsageLimitConfigInput;
}>;


export type UpdateChatUsageLimitConfigMutation = { __typename?: 'Mutation', updateChatUsageLimitConfig: { __typename?: 'UpdateChatUsageLimitConfigPayload', config: { __typename?: 'ChatUsageLimitConfig', enabled: boolean, spendLimitMicros: number | null, period: ChatUsageLimitPeriod, updatedAt: string } | null, errors: Array<{ __typename?: 'UserError', code: UserErrorCode, message: string, field: Array<string> | null }> } };

export type UpsertUserSpendLimitMutationVariables = Exact<{
  input: UpsertChatUsageLimitOverrideInput;
}>;


export type UpsertUserSpendLimitMutation = { __typename?: 'Mutation', upsertChatUsageLimitOverride: { __typename?: 'UpsertChatUsageLimitOverridePayload', override: { __typename?: 'ChatUsageLimitOverride', spendLimitMicros: number, user: { __typename?: 'User', id: string, username: string } } | null, errors: Array<{ __typename?: 'UserError', code: UserErrorCode, message: string, field: Array<string> | null }> } };

export type DeleteUserSpendLimitMutationVariables = Exact<{
  input: DeleteChatUsageLimitOverrideInput;
}>;


export type DeleteUserSpendLimitMutation = { __typename?: 'Mutation', deleteChatUsageLimitOverride: { __typename?: 'DeleteChatUsageLimitOverridePayload', deletedUserId: string | null, errors: Array<{ __typename?: 'UserError', code: UserErrorCode, message: string, field: Array<string> | null }> } };

export type UpsertGroupSpendLimitMutationVariables = Exact<{
  input: UpsertChatUsageLimitGroupOverrideInput;
}>;


export type UpsertGroupSpendLimitMutation = { __typename?: 'Mutation', upsertChatUsageLimitGroupOverride: { __typename?: 'UpsertChatUsageLimitGroupOverridePayload', groupOverride: { __typename?: 'ChatUsageLimitGroupOverride', spendLimitMicros: number, memberCount: number, group: { __typename?: 'Group', id: string, name: string } } | null, errors: Array<{ __typename?: 'UserError', code: UserErrorCode, message: string, field: Array<string> | null }> } };

export type DeleteGroupSpendLimitMutationVariables = Exact<{
  input: DeleteChatUsageLimitGroupOverrideInput;
}>;


export type DeleteGroupSpendLimitMutation = { __typename?: 'Mutation', deleteChatUsageLimitGroupOverride: { __typename?: 'DeleteChatUsageLimitGroupOverridePayload', deletedGroupId: string | null, errors: Array<{ __typename?: 'UserError', code: UserErrorCode, message: string, field: Array<string> | null }> } };

export type SpendRankingQueryVariables = Exact<{
  organizationId?: InputMaybe<Scalars['ID']['input']>;
  orderBy?: InputMaybe<ChatSpendRankingOrder>;
  minShareOfLimit?: InputMaybe<Scalars['Float']['input']>;
  at?: InputMaybe<Scalars['DateTime']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  after?: InputMaybe<Scalars['String']['input']>;
}>;


export type SpendRankingQuery = { __typename?: 'Query', chatSpendRanking: { __typename?: 'ChatSpendRankConnection', totalCount: number, pageInfo: { __typename?: 'PageInfo', hasNextPage: boolean, endCursor: string | null }, nodes: Array<{ __typename?: 'ChatSpendRank', shareOfLimit: number | null, user: { __typename?: 'User', id: string, username: string, name: string, avatarUrl: string }, status: { __typename?: 'ChatUsageLimitStatus', isLimited: boolean, limitSource: ChatSpendLimitSource, spendLimitMicros: number | null, currentSpendMicros: number, remainingMicros: number | null, exceeded: boolean, warningThresholdPercent: number | null, periodEnd: string | null } }> } };

export type DaemonCheckQueryVariables = Exact<{
  userId: Scalars['ID']['input'];
  organizationId?: InputMaybe<Scalars['ID']['input']>;
}>;


export type DaemonCheckQuery = { __typename?: 'Query', chatUsageLimitCheck: { __typename?: 'ChatUsageLimitCheck', allowed: boolean, failedOpen: boolean, exceeded: { __typename?: 'ChatUsageLimitExceeded', message: string, spentMicros: number, limitMicros: number, resetsAt: string } | null, status: { __typename?: 'ChatUsageLimitStatus', limitSource: ChatSpendLimitSource, spendLimitMicros: number | null, currentSpendMicros: number, periodEnd: string | null } | null } };

export type UsageIndicatorQueryVariables = Exact<{
  organizationId?: InputMaybe<Scalars['ID']['input']>;
}>;


export type UsageIndicatorQuery = { __typename?: 'Query', viewer: { __typename?: 'User', id: string, username: string, name: string, avatarUrl: string } | null, myChatUsageLimitStatus: { __typename?: 'ChatUsageLimitStatus', isLimited: boolean, limitSource: ChatSpendLimitSource, period: ChatUsageLimitPeriod | null, spendLimitMicros: number | null, currentSpendMicros: number, remainingMicros: number | null, exceeded: boolean, periodStart: string | null, periodEnd: string | null } };
