/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
/** Who wrote a message. */
export type ChatMessageRole =
  /** The LLM's answer. */
  | 'ASSISTANT'
  /** The system prompt. */
  | 'SYSTEM'
  /** The output of a tool the LLM called. */
  | 'TOOL'
  /** The person using the chat. */
  | 'USER';

/** The width of one point of a spend series; buckets are calendar-aligned in UTC like periods. */
export type ChatSpendBucket =
  /** One UTC day, from midnight. */
  | 'DAY'
  /** One calendar month, from the 1st 00:00 UTC. */
  | 'MONTH'
  /** One week, from Monday 00:00 UTC. */
  | 'WEEK';

/** Which tier of the hierarchy produced a user's effective limit: USER (their own override, wins whatever its value), GROUP (the lowest limit among their groups), DEFAULT (the deployment-wide default), DISABLED (limits are switched off: unlimited). */
export type ChatSpendLimitSource =
  /** The deployment-wide default limit. */
  | 'DEFAULT'
  /** Limits are switched off deployment-wide: unlimited. */
  | 'DISABLED'
  /** The lowest limit among the user's groups. */
  | 'GROUP'
  /** The user's own override (highest priority, wins whatever its value). */
  | 'USER';

/** How the ranking orders users. Ties: higher spend, then username. */
export type ChatSpendRankingOrder =
  /** Highest share of the effective limit first; unlimited users last. */
  | 'SHARE_OF_LIMIT_DESC'
  /** Highest currentSpendMicros first. */
  | 'SPEND_DESC';

/** HELD: counts against the limit until settled, released or expired. SETTLED: its message is recorded. RELEASED: ended without a cost. EXPIRED: neither settled nor released within its TTL, so it no longer holds anything (a later settle still records the cost). */
export type ChatSpendReservationState =
  /** Neither settled nor released within its TTL: holds nothing (a later settle still records the cost). */
  | 'EXPIRED'
  /** Counts against the limit until settled, released or expired. */
  | 'HELD'
  /** Ended without a cost. */
  | 'RELEASED'
  /** Its message is recorded; the hold became spend. */
  | 'SETTLED';

/** What a limit change touched. */
export type ChatUsageLimitChangeKind =
  /** The deployment's configuration: limits on or off, the default limit, the period. */
  | 'CONFIG'
  /** One group's limit. */
  | 'GROUP_OVERRIDE'
  /** One user's own limit. */
  | 'USER_OVERRIDE';

/** The length of a spend-limit period. Periods are calendar-aligned in UTC: DAY is midnight to midnight, WEEK starts Monday 00:00, MONTH starts on the 1st at 00:00. */
export type ChatUsageLimitPeriod =
  /** Midnight UTC to the next midnight UTC. */
  | 'DAY'
  /** The 1st of the month 00:00 UTC to the 1st of the next month. */
  | 'MONTH'
  /** Monday 00:00 UTC to the next Monday 00:00 UTC. */
  | 'WEEK';

/** Which group's override to remove. */
export type DeleteChatUsageLimitGroupOverrideInput = {
  /** The group whose override to remove. */
  groupId: string | number;
};

/** Whose override to remove. */
export type DeleteChatUsageLimitOverrideInput = {
  /** The user whose override to remove. */
  userId: string | number;
};

/** What a check or reserve does when the decision cannot be evaluated (database error or timeout): FAIL_OPEN allows the work (Coder's behaviour; the default), FAIL_CLOSED refuses it. */
export type EnforcementMode =
  /** Refuse the work when the decision cannot be evaluated. */
  | 'FAIL_CLOSED'
  /** Allow the work when the decision cannot be evaluated (Coder's behaviour; the default). */
  | 'FAIL_OPEN';

/** One message of a chat and what it cost (or the usage to price it from). */
export type RecordChatMessageInput = {
  /** The chat; its owner is charged. */
  chatId: string | number;
  /** Default: now. Decides which period the cost falls in; may be in the past (imports, late events). */
  createdAt?: string | null | undefined;
  /** 1 to 255 characters, unique per chat. A retry with the same key and input returns the first message (replayed: true) and counts nothing twice; the same key with other input is IDEMPOTENCY_CONFLICT. */
  idempotencyKey?: string | null | undefined;
  /** Id of a ChatModel. */
  modelId?: string | number | null | undefined;
  /** Who wrote the message. */
  role: ChatMessageRole;
  /** When given, this is the cost and usage is not priced. Must be >= 0. */
  totalCostMicros?: number | null | undefined;
  /** Tokens used; priced with the model's current prices when totalCostMicros is omitted. */
  usage?: TokenUsageInput | null | undefined;
};

/** A hold to end without a cost. */
export type ReleaseChatSpendInput = {
  /** The reservation to release. */
  reservationId: string | number;
};

/** Budget to hold for one LLM call. */
export type ReserveChatSpendInput = {
  /** The chat the call is for; one of the user's chats. */
  chatId?: string | number | null | undefined;
  /** The most the call may cost, >= 0: the guarantee needs the actual cost to stay within it. */
  estimateMicros: number;
  /** 1 to 255 characters, unique per user. A retry with the same key and input returns the same reservation; the same key with other input is IDEMPOTENCY_CONFLICT. */
  idempotencyKey?: string | null | undefined;
  /** The organization of the work, as for chatUsageLimitCheck: it scopes group limits and the settled message must be in it. Omitted: all organizations. */
  organizationId?: string | number | null | undefined;
  /** Default: the configured reservationTtlSeconds. 1 to 86400. */
  ttlSeconds?: number | null | undefined;
  /** The chat owner whose budget is held. */
  userId: string | number;
};

/** The token to revoke. */
export type RevokeApiTokenInput = {
  /** The token's id (not its secret). */
  tokenId: string | number;
};

/** A user's deployment-wide role. */
export type Role =
  /** Reads everything, changes nothing. */
  | 'AUDITOR'
  /** Reads their own data only. */
  | 'MEMBER'
  /** Reads and changes everything. A deployment keeps at least one live owner. */
  | 'OWNER';

/** Who a token acts for when it belongs to no user. */
export type ServiceAccount =
  /** The chat daemon: checks limits and records usage for any user; changes no limits. */
  | 'CHATD';

/** The call's actual cost, recorded against a reservation. */
export type SettleChatSpendInput = {
  /** The message as recordChatMessage takes it; its chat must belong to the reservation's user (and organization, when the reservation has one). */
  message: RecordChatMessageInput;
  /** The reservation to settle. */
  reservationId: string | number;
};

/** Tokens an LLM call used; each 0 or more. Null or omitted counts 0. */
export type TokenUsageInput = {
  /** Prompt tokens read from the cache. */
  cacheReadTokens?: number | null | undefined;
  /** Prompt tokens written to the cache. */
  cacheWriteTokens?: number | null | undefined;
  /** Prompt tokens, cache excluded. */
  inputTokens?: number | null | undefined;
  /** Generated tokens. */
  outputTokens?: number | null | undefined;
};

/** Changes to the configuration. A field left out keeps its stored value (a behaviour change: an omitted spendLimitMicros used to switch limits off); spendLimitMicros: null, given explicitly, switches limits off. */
export type UpdateChatUsageLimitConfigInput = {
  /** What a check or reserve does when it cannot be evaluated; omitted: unchanged. */
  enforcementMode?: EnforcementMode | null | undefined;
  /** Required with a spendLimitMicros; alone it changes the period. Omitted: unchanged. */
  period?: ChatUsageLimitPeriod | null | undefined;
  /** How long an unsettled reservation holds budget, 1 to 86400 seconds; omitted: unchanged. */
  reservationTtlSeconds?: number | null | undefined;
  /** The default limit per user per period, > 0, and then period is required too. Explicit null switches limits off (overrides, the stored period and amount are kept). Omitted: unchanged. */
  spendLimitMicros?: number | null | undefined;
  /** 1 to 99 each, at most 5, no duplicates; stored ascending. Omitted: unchanged. */
  warningThresholdsPercent?: Array<number> | null | undefined;
};

/** A group's override. */
export type UpsertChatUsageLimitGroupOverrideInput = {
  /** The group; an Everyone group is allowed. */
  groupId: string | number;
  /** The group's limit per period; required, > 0. */
  spendLimitMicros?: number | null | undefined;
};

/** A user's override. */
export type UpsertChatUsageLimitOverrideInput = {
  /** The user's limit per period; required, > 0. */
  spendLimitMicros?: number | null | undefined;
  /** The user; deleted users cannot have one. */
  userId: string | number;
};

/** Why a mutation did not do what it was asked. */
export type UserErrorCode =
  /** The name (or id) is taken. */
  | 'ALREADY_EXISTS'
  /** No chat has this id. */
  | 'CHAT_NOT_FOUND'
  /** No group has this id. */
  | 'GROUP_NOT_FOUND'
  /** The idempotency key was used before with different input. */
  | 'IDEMPOTENCY_CONFLICT'
  /** A value is malformed or breaks a rule (a name, a length, a time, a parent chat). */
  | 'INVALID_INPUT'
  /** A period is required with a spend limit. */
  | 'INVALID_PERIOD'
  /** A spend limit must be greater than 0. */
  | 'INVALID_SPEND_LIMIT'
  /** The deployment's last live owner cannot be deleted or demoted. */
  | 'LAST_OWNER'
  /** No chat model has this id. */
  | 'MODEL_NOT_FOUND'
  /** No organization has this id. */
  | 'ORGANIZATION_NOT_FOUND'
  /** The user or group has no override to delete. */
  | 'OVERRIDE_NOT_FOUND'
  /** No reservation has this id. */
  | 'RESERVATION_NOT_FOUND'
  /** The reservation is no longer HELD. */
  | 'RESERVATION_NOT_HELD'
  /** No API token has this id. */
  | 'TOKEN_NOT_FOUND'
  /** No live user has this id. */
  | 'USER_NOT_FOUND';

export type LimitChangesQueryVariables = Exact<{
  kind?: ChatUsageLimitChangeKind | null | undefined;
  userId?: string | number | null | undefined;
  groupId?: string | number | null | undefined;
  first?: number | null | undefined;
  after?: string | null | undefined;
}>;


export type LimitChangesQuery = { chatUsageLimitChanges: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, nodes: Array<{ id: string, at: string, kind: ChatUsageLimitChangeKind, actorService: ServiceAccount | null, oldSpendLimitMicros: number | null, newSpendLimitMicros: number | null, oldEnabled: boolean | null, newEnabled: boolean | null, oldPeriod: ChatUsageLimitPeriod | null, newPeriod: ChatUsageLimitPeriod | null, actor: { id: string, username: string } | null, user: { id: string, username: string } | null, group: { id: string, name: string } | null }> } };

export type ChatSpendSeriesFieldsFragment = { bucket: ChatSpendBucket, totalMicros: number, points: Array<{ start: string, end: string, spendMicros: number }> };

export type UserSpendHistoryQueryVariables = Exact<{
  userId: string | number;
  from: string;
  to: string;
  bucket?: ChatSpendBucket | null | undefined;
  organizationId?: string | number | null | undefined;
}>;


export type UserSpendHistoryQuery = { user: { id: string, username: string, chatSpendHistory: { bucket: ChatSpendBucket, totalMicros: number, points: Array<{ start: string, end: string, spendMicros: number }> } } | null };

export type OrganizationSpendHistoryQueryVariables = Exact<{
  organizationId: string | number;
  from: string;
  to: string;
  bucket?: ChatSpendBucket | null | undefined;
}>;


export type OrganizationSpendHistoryQuery = { organization: { id: string, name: string, chatSpendHistory: { bucket: ChatSpendBucket, totalMicros: number, points: Array<{ start: string, end: string, spendMicros: number }> } } | null };

export type GroupSpendHistoryQueryVariables = Exact<{
  groupId: string | number;
  from: string;
  to: string;
  bucket?: ChatSpendBucket | null | undefined;
}>;


export type GroupSpendHistoryQuery = { group: { id: string, name: string, chatSpendHistory: { bucket: ChatSpendBucket, totalMicros: number, points: Array<{ start: string, end: string, spendMicros: number }> } } | null };

export type AdminSpendPageQueryVariables = Exact<{
  overridesAfter?: string | null | undefined;
  groupOverridesAfter?: string | null | undefined;
}>;


export type AdminSpendPageQuery = { chatUsageLimitConfig: { enabled: boolean, spendLimitMicros: number | null, period: ChatUsageLimitPeriod, updatedAt: string, unpricedModelCount: number, overrides: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, nodes: Array<{ spendLimitMicros: number, user: { id: string, username: string, name: string, avatarUrl: string } }> }, groupOverrides: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, nodes: Array<{ spendLimitMicros: number, memberCount: number, group: { id: string, name: string, displayName: string, organization: { id: string, name: string } } }> } } };

export type UserErrorFieldsFragment = { code: UserErrorCode, message: string, field: Array<string> | null };

export type UpdateChatUsageLimitConfigMutationVariables = Exact<{
  input: UpdateChatUsageLimitConfigInput;
}>;


export type UpdateChatUsageLimitConfigMutation = { updateChatUsageLimitConfig: { config: { enabled: boolean, spendLimitMicros: number | null, period: ChatUsageLimitPeriod, updatedAt: string } | null, errors: Array<{ code: UserErrorCode, message: string, field: Array<string> | null }> } };

export type UpsertUserSpendLimitMutationVariables = Exact<{
  input: UpsertChatUsageLimitOverrideInput;
}>;


export type UpsertUserSpendLimitMutation = { upsertChatUsageLimitOverride: { override: { spendLimitMicros: number, user: { id: string, username: string } } | null, errors: Array<{ code: UserErrorCode, message: string, field: Array<string> | null }> } };

export type DeleteUserSpendLimitMutationVariables = Exact<{
  input: DeleteChatUsageLimitOverrideInput;
}>;


export type DeleteUserSpendLimitMutation = { deleteChatUsageLimitOverride: { deletedUserId: string | null, errors: Array<{ code: UserErrorCode, message: string, field: Array<string> | null }> } };

export type UpsertGroupSpendLimitMutationVariables = Exact<{
  input: UpsertChatUsageLimitGroupOverrideInput;
}>;


export type UpsertGroupSpendLimitMutation = { upsertChatUsageLimitGroupOverride: { groupOverride: { spendLimitMicros: number, memberCount: number, group: { id: string, name: string } } | null, errors: Array<{ code: UserErrorCode, message: string, field: Array<string> | null }> } };

export type DeleteGroupSpendLimitMutationVariables = Exact<{
  input: DeleteChatUsageLimitGroupOverrideInput;
}>;


export type DeleteGroupSpendLimitMutation = { deleteChatUsageLimitGroupOverride: { deletedGroupId: string | null, errors: Array<{ code: UserErrorCode, message: string, field: Array<string> | null }> } };

export type SpendRankingQueryVariables = Exact<{
  organizationId?: string | number | null | undefined;
  orderBy?: ChatSpendRankingOrder | null | undefined;
  minShareOfLimit?: number | null | undefined;
  at?: string | null | undefined;
  first?: number | null | undefined;
  after?: string | null | undefined;
}>;


export type SpendRankingQuery = { chatSpendRanking: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, nodes: Array<{ shareOfLimit: number | null, user: { id: string, username: string, name: string, avatarUrl: string }, status: { isLimited: boolean, limitSource: ChatSpendLimitSource, spendLimitMicros: number | null, currentSpendMicros: number, remainingMicros: number | null, exceeded: boolean, warningThresholdPercent: number | null, periodEnd: string | null } }> } };

export type DaemonCheckQueryVariables = Exact<{
  userId: string | number;
  organizationId?: string | number | null | undefined;
}>;


export type DaemonCheckQuery = { chatUsageLimitCheck: { allowed: boolean, failedOpen: boolean, exceeded: { message: string, spentMicros: number, limitMicros: number, resetsAt: string } | null, status: { limitSource: ChatSpendLimitSource, spendLimitMicros: number | null, currentSpendMicros: number, periodEnd: string | null } | null } };

export type MyStatusLiveSubscriptionVariables = Exact<{
  organizationId?: string | number | null | undefined;
}>;


export type MyStatusLiveSubscription = { myChatUsageLimitStatus: { isLimited: boolean, limitSource: ChatSpendLimitSource, period: ChatUsageLimitPeriod | null, spendLimitMicros: number | null, currentSpendMicros: number, heldMicros: number, remainingMicros: number | null, exceeded: boolean, periodStart: string | null, periodEnd: string | null } };

export type ReservationFieldsFragment = { id: string, state: ChatSpendReservationState, amountMicros: number, createdAt: string, expiresAt: string };

export type ReserveChatSpendMutationVariables = Exact<{
  input: ReserveChatSpendInput;
}>;


export type ReserveChatSpendMutation = { reserveChatSpend: { replayed: boolean, reservation: { id: string, state: ChatSpendReservationState, amountMicros: number, createdAt: string, expiresAt: string } | null, check: { allowed: boolean, failedOpen: boolean, failedClosed: boolean, exceeded: { message: string, spentMicros: number, limitMicros: number, resetsAt: string } | null } | null, errors: Array<{ code: UserErrorCode, message: string, field: Array<string> | null }> } };

export type SettleChatSpendMutationVariables = Exact<{
  input: SettleChatSpendInput;
}>;


export type SettleChatSpendMutation = { settleChatSpend: { replayed: boolean, reservation: { id: string, state: ChatSpendReservationState, amountMicros: number, createdAt: string, expiresAt: string } | null, message: { id: string, totalCostMicros: number | null, createdAt: string } | null, errors: Array<{ code: UserErrorCode, message: string, field: Array<string> | null }> } };

export type ReleaseChatSpendMutationVariables = Exact<{
  input: ReleaseChatSpendInput;
}>;


export type ReleaseChatSpendMutation = { releaseChatSpend: { reservation: { id: string, state: ChatSpendReservationState, amountMicros: number, createdAt: string, expiresAt: string } | null, errors: Array<{ code: UserErrorCode, message: string, field: Array<string> | null }> } };

export type ReservationQueryVariables = Exact<{
  id: string | number;
}>;


export type ReservationQuery = { reservation: { id: string, state: ChatSpendReservationState, amountMicros: number, createdAt: string, expiresAt: string, user: { id: string, username: string } } | null };

export type UsageIndicatorQueryVariables = Exact<{
  organizationId?: string | number | null | undefined;
}>;


export type UsageIndicatorQuery = { viewer: { id: string, username: string, name: string, avatarUrl: string } | null, myChatUsageLimitStatus: { isLimited: boolean, limitSource: ChatSpendLimitSource, period: ChatUsageLimitPeriod | null, spendLimitMicros: number | null, currentSpendMicros: number, remainingMicros: number | null, exceeded: boolean, periodStart: string | null, periodEnd: string | null } };

export type UserListQueryVariables = Exact<{
  first?: number | null | undefined;
  after?: string | null | undefined;
  search?: string | null | undefined;
}>;


export type UserListQuery = { users: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, nodes: Array<{ id: string, username: string, name: string, role: Role, isSystem: boolean, chatUsageLimitStatus: { isLimited: boolean, spendLimitMicros: number | null, currentSpendMicros: number, exceeded: boolean } }> } };

export type ApiTokensQueryVariables = Exact<{
  first?: number | null | undefined;
  after?: string | null | undefined;
  includeRevoked?: boolean | null | undefined;
}>;


export type ApiTokensQuery = { apiTokens: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, nodes: Array<{ id: string, name: string, service: ServiceAccount | null, createdAt: string, lastUsedAt: string | null, revokedAt: string | null, user: { id: string, username: string } | null }> } };

export type RevokeApiTokenMutationVariables = Exact<{
  input: RevokeApiTokenInput;
}>;


export type RevokeApiTokenMutation = { revokeApiToken: { revokedTokenId: string | null, errors: Array<{ code: UserErrorCode, message: string, field: Array<string> | null }> } };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}
export const ChatSpendSeriesFieldsFragmentDoc = new TypedDocumentString(`
    fragment ChatSpendSeriesFields on ChatSpendSeries {
  bucket
  totalMicros
  points {
    start
    end
    spendMicros
  }
}
    `, {"fragmentName":"ChatSpendSeriesFields"}) as unknown as TypedDocumentString<ChatSpendSeriesFieldsFragment, unknown>;
export const UserErrorFieldsFragmentDoc = new TypedDocumentString(`
    fragment UserErrorFields on UserError {
  code
  message
  field
}
    `, {"fragmentName":"UserErrorFields"}) as unknown as TypedDocumentString<UserErrorFieldsFragment, unknown>;
export const ReservationFieldsFragmentDoc = new TypedDocumentString(`
    fragment ReservationFields on ChatSpendReservation {
  id
  state
  amountMicros
  createdAt
  expiresAt
}
    `, {"fragmentName":"ReservationFields"}) as unknown as TypedDocumentString<ReservationFieldsFragment, unknown>;
export const LimitChangesDocument = new TypedDocumentString(`
    query LimitChanges($kind: ChatUsageLimitChangeKind, $userId: ID, $groupId: ID, $first: Int = 50, $after: String) {
  chatUsageLimitChanges(
    kind: $kind
    userId: $userId
    groupId: $groupId
    first: $first
    after: $after
  ) {
    totalCount
    pageInfo {
      hasNextPage
      endCursor
    }
    nodes {
      id
      at
      kind
      actor {
        id
        username
      }
      actorService
      user {
        id
        username
      }
      group {
        id
        name
      }
      oldSpendLimitMicros
      newSpendLimitMicros
      oldEnabled
      newEnabled
      oldPeriod
      newPeriod
    }
  }
}
    `, {"hash":"sha256:67cc0eaca1576216ef4c51505a7ff10acc2d1ebaf1d0457cf780f8b87f56abfd"}) as unknown as TypedDocumentString<LimitChangesQuery, LimitChangesQueryVariables>;
export const UserSpendHistoryDocument = new TypedDocumentString(`
    query UserSpendHistory($userId: ID!, $from: DateTime!, $to: DateTime!, $bucket: ChatSpendBucket = DAY, $organizationId: ID) {
  user(id: $userId) {
    id
    username
    chatSpendHistory(
      from: $from
      to: $to
      bucket: $bucket
      organizationId: $organizationId
    ) {
      ...ChatSpendSeriesFields
    }
  }
}
    fragment ChatSpendSeriesFields on ChatSpendSeries {
  bucket
  totalMicros
  points {
    start
    end
    spendMicros
  }
}`, {"hash":"sha256:3ec14a7c5bb4be7af76451dab84fc0991f532d383eed2790a7a6e3bce586b01d"}) as unknown as TypedDocumentString<UserSpendHistoryQuery, UserSpendHistoryQueryVariables>;
export const OrganizationSpendHistoryDocument = new TypedDocumentString(`
    query OrganizationSpendHistory($organizationId: ID!, $from: DateTime!, $to: DateTime!, $bucket: ChatSpendBucket = DAY) {
  organization(id: $organizationId) {
    id
    name
    chatSpendHistory(from: $from, to: $to, bucket: $bucket) {
      ...ChatSpendSeriesFields
    }
  }
}
    fragment ChatSpendSeriesFields on ChatSpendSeries {
  bucket
  totalMicros
  points {
    start
    end
    spendMicros
  }
}`, {"hash":"sha256:3e94a4f4da45c527322260fc9bb7e5424fabea5dbd49b958460949a9f92afb34"}) as unknown as TypedDocumentString<OrganizationSpendHistoryQuery, OrganizationSpendHistoryQueryVariables>;
export const GroupSpendHistoryDocument = new TypedDocumentString(`
    query GroupSpendHistory($groupId: ID!, $from: DateTime!, $to: DateTime!, $bucket: ChatSpendBucket = DAY) {
  group(id: $groupId) {
    id
    name
    chatSpendHistory(from: $from, to: $to, bucket: $bucket) {
      ...ChatSpendSeriesFields
    }
  }
}
    fragment ChatSpendSeriesFields on ChatSpendSeries {
  bucket
  totalMicros
  points {
    start
    end
    spendMicros
  }
}`, {"hash":"sha256:bae46742f06cef45590307a6940458844723dd63636d8718dfd311892116678d"}) as unknown as TypedDocumentString<GroupSpendHistoryQuery, GroupSpendHistoryQueryVariables>;
export const AdminSpendPageDocument = new TypedDocumentString(`
    query AdminSpendPage($overridesAfter: String, $groupOverridesAfter: String) {
  chatUsageLimitConfig {
    enabled
    spendLimitMicros
    period
    updatedAt
    unpricedModelCount
    overrides(first: 100, after: $overridesAfter) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      nodes {
        spendLimitMicros
        user {
          id
          username
          name
          avatarUrl
        }
      }
    }
    groupOverrides(first: 100, after: $groupOverridesAfter) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      nodes {
        spendLimitMicros
        memberCount
        group {
          id
          name
          displayName
          organization {
            id
            name
          }
        }
      }
    }
  }
}
    `, {"hash":"sha256:5035761325b5055b12294a9e930ac42861d02c0619b259a27c40b2898e67fc66"}) as unknown as TypedDocumentString<AdminSpendPageQuery, AdminSpendPageQueryVariables>;
export const UpdateChatUsageLimitConfigDocument = new TypedDocumentString(`
    mutation UpdateChatUsageLimitConfig($input: UpdateChatUsageLimitConfigInput!) {
  updateChatUsageLimitConfig(input: $input) {
    config {
      enabled
      spendLimitMicros
      period
      updatedAt
    }
    errors {
      ...UserErrorFields
    }
  }
}
    fragment UserErrorFields on UserError {
  code
  message
  field
}`, {"hash":"sha256:15ae75ed2c59f7beb4e753aab84373a3067b293b7058eeb1f8e3496793e164b0"}) as unknown as TypedDocumentString<UpdateChatUsageLimitConfigMutation, UpdateChatUsageLimitConfigMutationVariables>;
export const UpsertUserSpendLimitDocument = new TypedDocumentString(`
    mutation UpsertUserSpendLimit($input: UpsertChatUsageLimitOverrideInput!) {
  upsertChatUsageLimitOverride(input: $input) {
    override {
      spendLimitMicros
      user {
        id
        username
      }
    }
    errors {
      ...UserErrorFields
    }
  }
}
    fragment UserErrorFields on UserError {
  code
  message
  field
}`, {"hash":"sha256:abc6ae373f974d486c11aff97762db201e83d9fe3556b3b51cda82c2c240fbd1"}) as unknown as TypedDocumentString<UpsertUserSpendLimitMutation, UpsertUserSpendLimitMutationVariables>;
export const DeleteUserSpendLimitDocument = new TypedDocumentString(`
    mutation DeleteUserSpendLimit($input: DeleteChatUsageLimitOverrideInput!) {
  deleteChatUsageLimitOverride(input: $input) {
    deletedUserId
    errors {
      ...UserErrorFields
    }
  }
}
    fragment UserErrorFields on UserError {
  code
  message
  field
}`, {"hash":"sha256:d14365a9f92aefd16617d82483d1c5ac2a0b4001ef80e372819757bde7bf6f1e"}) as unknown as TypedDocumentString<DeleteUserSpendLimitMutation, DeleteUserSpendLimitMutationVariables>;
export const UpsertGroupSpendLimitDocument = new TypedDocumentString(`
    mutation UpsertGroupSpendLimit($input: UpsertChatUsageLimitGroupOverrideInput!) {
  upsertChatUsageLimitGroupOverride(input: $input) {
    groupOverride {
      spendLimitMicros
      memberCount
      group {
        id
        name
      }
    }
    errors {
      ...UserErrorFields
    }
  }
}
    fragment UserErrorFields on UserError {
  code
  message
  field
}`, {"hash":"sha256:fa59279ec7e0a4705c3eac2490402093b108d3968095b681d021e265d96534ea"}) as unknown as TypedDocumentString<UpsertGroupSpendLimitMutation, UpsertGroupSpendLimitMutationVariables>;
export const DeleteGroupSpendLimitDocument = new TypedDocumentString(`
    mutation DeleteGroupSpendLimit($input: DeleteChatUsageLimitGroupOverrideInput!) {
  deleteChatUsageLimitGroupOverride(input: $input) {
    deletedGroupId
    errors {
      ...UserErrorFields
    }
  }
}
    fragment UserErrorFields on UserError {
  code
  message
  field
}`, {"hash":"sha256:a89f163ee4de0fc0806ca302793134278b5280f82de15e103a22c18e4880c9ca"}) as unknown as TypedDocumentString<DeleteGroupSpendLimitMutation, DeleteGroupSpendLimitMutationVariables>;
export const SpendRankingDocument = new TypedDocumentString(`
    query SpendRanking($organizationId: ID, $orderBy: ChatSpendRankingOrder = SHARE_OF_LIMIT_DESC, $minShareOfLimit: Float, $at: DateTime, $first: Int = 50, $after: String) {
  chatSpendRanking(
    organizationId: $organizationId
    orderBy: $orderBy
    minShareOfLimit: $minShareOfLimit
    at: $at
    first: $first
    after: $after
  ) {
    totalCount
    pageInfo {
      hasNextPage
      endCursor
    }
    nodes {
      shareOfLimit
      user {
        id
        username
        name
        avatarUrl
      }
      status {
        isLimited
        limitSource
        spendLimitMicros
        currentSpendMicros
        remainingMicros
        exceeded
        warningThresholdPercent
        periodEnd
      }
    }
  }
}
    `, {"hash":"sha256:be98fdfc965e8f7e296e9385d392da3fed980901d799fa1caf25fd51ce46dc55"}) as unknown as TypedDocumentString<SpendRankingQuery, SpendRankingQueryVariables>;
export const DaemonCheckDocument = new TypedDocumentString(`
    query DaemonCheck($userId: ID!, $organizationId: ID) {
  chatUsageLimitCheck(userId: $userId, organizationId: $organizationId) {
    allowed
    failedOpen
    exceeded {
      message
      spentMicros
      limitMicros
      resetsAt
    }
    status {
      limitSource
      spendLimitMicros
      currentSpendMicros
      periodEnd
    }
  }
}
    `, {"hash":"sha256:f6a7359134af23476369bb72805cfd42fd3e200a3c78a4a5a4be3eeabd6ac7e9"}) as unknown as TypedDocumentString<DaemonCheckQuery, DaemonCheckQueryVariables>;
export const MyStatusLiveDocument = new TypedDocumentString(`
    subscription MyStatusLive($organizationId: ID) {
  myChatUsageLimitStatus(organizationId: $organizationId) {
    isLimited
    limitSource
    period
    spendLimitMicros
    currentSpendMicros
    heldMicros
    remainingMicros
    exceeded
    periodStart
    periodEnd
  }
}
    `, {"hash":"sha256:8e22115e844049fad3760aa875f76dace951d0c3e407acb869989cb1dd850e38"}) as unknown as TypedDocumentString<MyStatusLiveSubscription, MyStatusLiveSubscriptionVariables>;
export const ReserveChatSpendDocument = new TypedDocumentString(`
    mutation ReserveChatSpend($input: ReserveChatSpendInput!) {
  reserveChatSpend(input: $input) {
    reservation {
      ...ReservationFields
    }
    check {
      allowed
      failedOpen
      failedClosed
      exceeded {
        message
        spentMicros
        limitMicros
        resetsAt
      }
    }
    replayed
    errors {
      ...UserErrorFields
    }
  }
}
    fragment UserErrorFields on UserError {
  code
  message
  field
}
fragment ReservationFields on ChatSpendReservation {
  id
  state
  amountMicros
  createdAt
  expiresAt
}`, {"hash":"sha256:73276d6960a9169e90114d535bdcf9915d494623fa31d2260ed7bc996112b898"}) as unknown as TypedDocumentString<ReserveChatSpendMutation, ReserveChatSpendMutationVariables>;
export const SettleChatSpendDocument = new TypedDocumentString(`
    mutation SettleChatSpend($input: SettleChatSpendInput!) {
  settleChatSpend(input: $input) {
    reservation {
      ...ReservationFields
    }
    message {
      id
      totalCostMicros
      createdAt
    }
    replayed
    errors {
      ...UserErrorFields
    }
  }
}
    fragment UserErrorFields on UserError {
  code
  message
  field
}
fragment ReservationFields on ChatSpendReservation {
  id
  state
  amountMicros
  createdAt
  expiresAt
}`, {"hash":"sha256:5fcf65afb393afd6315d987f7866e5d70f740c4d61ff51fe6a363da4ec9dbcfa"}) as unknown as TypedDocumentString<SettleChatSpendMutation, SettleChatSpendMutationVariables>;
export const ReleaseChatSpendDocument = new TypedDocumentString(`
    mutation ReleaseChatSpend($input: ReleaseChatSpendInput!) {
  releaseChatSpend(input: $input) {
    reservation {
      ...ReservationFields
    }
    errors {
      ...UserErrorFields
    }
  }
}
    fragment UserErrorFields on UserError {
  code
  message
  field
}
fragment ReservationFields on ChatSpendReservation {
  id
  state
  amountMicros
  createdAt
  expiresAt
}`, {"hash":"sha256:767d3aa1835435f7bcab8d08b297193bacb8b7b59ddd8ecb9427932e22e0938a"}) as unknown as TypedDocumentString<ReleaseChatSpendMutation, ReleaseChatSpendMutationVariables>;
export const ReservationDocument = new TypedDocumentString(`
    query Reservation($id: ID!) {
  reservation(id: $id) {
    ...ReservationFields
    user {
      id
      username
    }
  }
}
    fragment ReservationFields on ChatSpendReservation {
  id
  state
  amountMicros
  createdAt
  expiresAt
}`, {"hash":"sha256:333ebd139b2309f252150e92b9428da641c63ef6fc42b201cc8a177233a96697"}) as unknown as TypedDocumentString<ReservationQuery, ReservationQueryVariables>;
export const UsageIndicatorDocument = new TypedDocumentString(`
    query UsageIndicator($organizationId: ID) {
  viewer {
    id
    username
    name
    avatarUrl
  }
  myChatUsageLimitStatus(organizationId: $organizationId) {
    isLimited
    limitSource
    period
    spendLimitMicros
    currentSpendMicros
    remainingMicros
    exceeded
    periodStart
    periodEnd
  }
}
    `, {"hash":"sha256:5a99b8670dc7ed31fce8fd95b3f7fdcafa21ddf99bdd5ffbbbe5836726aaeab5"}) as unknown as TypedDocumentString<UsageIndicatorQuery, UsageIndicatorQueryVariables>;
export const UserListDocument = new TypedDocumentString(`
    query UserList($first: Int, $after: String, $search: String) {
  users(first: $first, after: $after, search: $search) {
    totalCount
    pageInfo {
      hasNextPage
      endCursor
    }
    nodes {
      id
      username
      name
      role
      isSystem
      chatUsageLimitStatus {
        isLimited
        spendLimitMicros
        currentSpendMicros
        exceeded
      }
    }
  }
}
    `, {"hash":"sha256:1be36ca997f6820fc3cc027301e7896a73ce74b8db7e025688cc988910001fd8"}) as unknown as TypedDocumentString<UserListQuery, UserListQueryVariables>;
export const ApiTokensDocument = new TypedDocumentString(`
    query ApiTokens($first: Int, $after: String, $includeRevoked: Boolean) {
  apiTokens(first: $first, after: $after, includeRevoked: $includeRevoked) {
    totalCount
    pageInfo {
      hasNextPage
      endCursor
    }
    nodes {
      id
      name
      user {
        id
        username
      }
      service
      createdAt
      lastUsedAt
      revokedAt
    }
  }
}
    `, {"hash":"sha256:bd6773142d4eda9698aef78ebb3c455f07303aa135255605c47e55e3d926cf1c"}) as unknown as TypedDocumentString<ApiTokensQuery, ApiTokensQueryVariables>;
export const RevokeApiTokenDocument = new TypedDocumentString(`
    mutation RevokeApiToken($input: RevokeApiTokenInput!) {
  revokeApiToken(input: $input) {
    revokedTokenId
    errors {
      ...UserErrorFields
    }
  }
}
    fragment UserErrorFields on UserError {
  code
  message
  field
}`, {"hash":"sha256:606cc0bd1237a19c742a13db628599c79c9818921405ddd5ca6671de80fd83fb"}) as unknown as TypedDocumentString<RevokeApiTokenMutation, RevokeApiTokenMutationVariables>;