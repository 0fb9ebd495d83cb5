/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
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

/** What a check or reserve does when the decision cannot be evaluated (database error or timeout): FAIL_OPEN allows the work (Coder's behaviour; the default), FAIL_CLOSED refuses it. */
export type EnforcementMode =
  /** Refuse the work when the decision cannot be evaluated. */
  | 'FAIL_CLOSED'
  /** Allow the work when the decision cannot be evaluated (Coder's behaviour; the default). */
  | 'FAIL_OPEN';

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

export type ConsoleConfigQueryVariables = Exact<{ [key: string]: never; }>;


export type ConsoleConfigQuery = { chatUsageLimitConfig: { enabled: boolean, spendLimitMicros: number | null, period: ChatUsageLimitPeriod, enforcementMode: EnforcementMode, reservationTtlSeconds: number, unpricedModelCount: number, updatedAt: string } };

export type ConsoleUpdateConfigMutationVariables = Exact<{
  input: UpdateChatUsageLimitConfigInput;
}>;


export type ConsoleUpdateConfigMutation = { updateChatUsageLimitConfig: { config: { enabled: boolean, spendLimitMicros: number | null, period: ChatUsageLimitPeriod, enforcementMode: EnforcementMode, reservationTtlSeconds: number, unpricedModelCount: number, updatedAt: string } | null, errors: Array<{ code: UserErrorCode, message: string, field: Array<string> | null }> } };

export type ConsoleGroupsQueryVariables = Exact<{
  first: number;
  after?: string | null | undefined;
}>;


export type ConsoleGroupsQuery = { groups: { totalCount: number, nodes: Array<{ id: string, name: string, displayName: string, isEveryone: boolean, memberCount: number, chatSpendLimitMicros: number | null, organization: { id: string, name: string, displayName: string } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } };

export type ConsoleChangesQueryVariables = Exact<{
  kind?: ChatUsageLimitChangeKind | null | undefined;
  userId?: string | number | null | undefined;
  first: number;
  after?: string | null | undefined;
}>;


export type ConsoleChangesQuery = { chatUsageLimitChanges: { totalCount: number, nodes: Array<{ id: string, at: string, kind: ChatUsageLimitChangeKind, actorService: ServiceAccount | null, oldSpendLimitMicros: number | null, newSpendLimitMicros: number | null, oldEnabled: boolean | null, newEnabled: boolean | null, oldPeriod: ChatUsageLimitPeriod | null, newPeriod: ChatUsageLimitPeriod | null, actor: { id: string, username: string } | null, user: { id: string, username: string } | null, group: { id: string, name: string, displayName: string } | null }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } };

export type ConsoleSpendHistoryQueryVariables = Exact<{
  id: string | number;
  from: string;
  to: string;
}>;


export type ConsoleSpendHistoryQuery = { user: { id: string, chatSpendHistory: { totalMicros: number, points: Array<{ start: string, spendMicros: number }> } } | null };

export type ConsoleMySpendHistoryQueryVariables = Exact<{
  from: string;
  to: string;
}>;


export type ConsoleMySpendHistoryQuery = { viewer: { id: string, chatSpendHistory: { totalMicros: number, points: Array<{ start: string, spendMicros: number }> } } | null };

export type ConsoleRankingQueryVariables = Exact<{
  orderBy: ChatSpendRankingOrder;
  minShareOfLimit?: number | null | undefined;
  first: number;
  after?: string | null | undefined;
}>;


export type ConsoleRankingQuery = { chatSpendRanking: { totalCount: number, nodes: Array<{ shareOfLimit: number | null, user: { id: string, username: string, name: string, role: Role, isSystem: boolean, chatSpendLimitMicros: number | null, effectiveChatSpendLimit: { limitMicros: number | null, source: ChatSpendLimitSource, group: { id: string, name: string, displayName: string } | null } }, status: { currentSpendMicros: number, spendLimitMicros: number | null, exceeded: boolean } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } };

export type ConsoleThresholdsQueryVariables = Exact<{ [key: string]: never; }>;


export type ConsoleThresholdsQuery = { chatUsageLimitConfig: { warningThresholdsPercent: Array<number> } };

export type ConsoleUpdateThresholdsMutationVariables = Exact<{
  percents: Array<number> | number;
}>;


export type ConsoleUpdateThresholdsMutation = { updateChatUsageLimitConfig: { config: { warningThresholdsPercent: Array<number> } | null, errors: Array<{ code: UserErrorCode, message: string, field: Array<string> | null }> } };

export type ConsoleMyStatusLiveSubscriptionVariables = Exact<{ [key: string]: never; }>;


export type ConsoleMyStatusLiveSubscription = { myChatUsageLimitStatus: { isLimited: boolean, limitSource: ChatSpendLimitSource, period: ChatUsageLimitPeriod | null, spendLimitMicros: number | null, currentSpendMicros: number, remainingMicros: number | null, heldMicros: number, exceeded: boolean, periodStart: string | null, periodEnd: string | null, warningThresholdPercent: number | null } };

export type ConsoleMyUsageQueryVariables = Exact<{ [key: string]: never; }>;


export type ConsoleMyUsageQuery = { myChatUsageLimitStatus: { isLimited: boolean, limitSource: ChatSpendLimitSource, period: ChatUsageLimitPeriod | null, spendLimitMicros: number | null, currentSpendMicros: number, remainingMicros: number | null, heldMicros: number, exceeded: boolean, periodStart: string | null, periodEnd: string | null, warningThresholdPercent: number | null } };

export type ConsoleMyStatusFragment = { isLimited: boolean, limitSource: ChatSpendLimitSource, period: ChatUsageLimitPeriod | null, spendLimitMicros: number | null, currentSpendMicros: number, remainingMicros: number | null, heldMicros: number, exceeded: boolean, periodStart: string | null, periodEnd: string | null, warningThresholdPercent: number | null };

export type ConsoleSetUserOverrideMutationVariables = Exact<{
  userId: string | number;
  spendLimitMicros: number;
}>;


export type ConsoleSetUserOverrideMutation = { upsertChatUsageLimitOverride: { override: { spendLimitMicros: number, user: { id: string } } | null, errors: Array<{ code: UserErrorCode, message: string, field: Array<string> | null }> } };

export type ConsoleRemoveUserOverrideMutationVariables = Exact<{
  userId: string | number;
}>;


export type ConsoleRemoveUserOverrideMutation = { deleteChatUsageLimitOverride: { deletedUserId: string | null, errors: Array<{ code: UserErrorCode, message: string, field: Array<string> | null }> } };

export type ConsoleSetGroupOverrideMutationVariables = Exact<{
  groupId: string | number;
  spendLimitMicros: number;
}>;


export type ConsoleSetGroupOverrideMutation = { upsertChatUsageLimitGroupOverride: { groupOverride: { spendLimitMicros: number, memberCount: number, group: { id: string } } | null, errors: Array<{ code: UserErrorCode, message: string, field: Array<string> | null }> } };

export type ConsoleRemoveGroupOverrideMutationVariables = Exact<{
  groupId: string | number;
}>;


export type ConsoleRemoveGroupOverrideMutation = { deleteChatUsageLimitGroupOverride: { deletedGroupId: string | null, errors: Array<{ code: UserErrorCode, message: string, field: Array<string> | null }> } };

export type ConsoleUsersQueryVariables = Exact<{
  first: number;
  after?: string | null | undefined;
  search?: string | null | undefined;
}>;


export type ConsoleUsersQuery = { users: { totalCount: number, nodes: Array<{ id: string, username: string, name: string, role: Role, isSystem: boolean, chatSpendLimitMicros: number | null, effectiveChatSpendLimit: { limitMicros: number | null, source: ChatSpendLimitSource, group: { id: string, name: string, displayName: string } | null }, chatUsageLimitStatus: { currentSpendMicros: number, spendLimitMicros: number | null, exceeded: boolean } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } };

export type ConsoleUserRowFragment = { id: string, username: string, name: string, role: Role, isSystem: boolean, chatSpendLimitMicros: number | null, effectiveChatSpendLimit: { limitMicros: number | null, source: ChatSpendLimitSource, group: { id: string, name: string, displayName: string } | null }, chatUsageLimitStatus: { currentSpendMicros: number, spendLimitMicros: number | null, exceeded: boolean } };

export type ConsoleUserQueryVariables = Exact<{
  id: string | number;
}>;


export type ConsoleUserQuery = { user: { email: string | null, deleted: boolean, id: string, username: string, name: string, role: Role, isSystem: boolean, chatSpendLimitMicros: number | null, groups: Array<{ id: string, name: string, displayName: string, isEveryone: boolean, chatSpendLimitMicros: number | null, organization: { name: string } }>, chatUsageLimitStatus: { isLimited: boolean, limitSource: ChatSpendLimitSource, period: ChatUsageLimitPeriod | null, currentSpendMicros: number, spendLimitMicros: number | null, remainingMicros: number | null, heldMicros: number, exceeded: boolean, periodStart: string | null, periodEnd: string | null, warningThresholdPercent: number | null }, effectiveChatSpendLimit: { limitMicros: number | null, source: ChatSpendLimitSource, group: { id: string, name: string, displayName: string } | null } } | null };

export type ConsoleViewerQueryVariables = Exact<{ [key: string]: never; }>;


export type ConsoleViewerQuery = { viewer: { id: string, username: string, name: string, role: Role } | null };

export const ConsoleMyStatusFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ConsoleMyStatus"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ChatUsageLimitStatus"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"isLimited"}},{"kind":"Field","name":{"kind":"Name","value":"limitSource"}},{"kind":"Field","name":{"kind":"Name","value":"period"}},{"kind":"Field","name":{"kind":"Name","value":"spendLimitMicros"}},{"kind":"Field","name":{"kind":"Name","value":"currentSpendMicros"}},{"kind":"Field","name":{"kind":"Name","value":"remainingMicros"}},{"kind":"Field","name":{"kind":"Name","value":"heldMicros"}},{"kind":"Field","name":{"kind":"Name","value":"exceeded"}},{"kind":"Field","name":{"kind":"Name","value":"periodStart"}},{"kind":"Field","name":{"kind":"Name","value":"periodEnd"}},{"kind":"Field","name":{"kind":"Name","value":"warningThresholdPercent"}}]}}]} as unknown as DocumentNode<ConsoleMyStatusFragment, unknown>;
export const ConsoleUserRowFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ConsoleUserRow"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"User"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"username"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"role"}},{"kind":"Field","name":{"kind":"Name","value":"isSystem"}},{"kind":"Field","name":{"kind":"Name","value":"chatSpendLimitMicros"}},{"kind":"Field","name":{"kind":"Name","value":"effectiveChatSpendLimit"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"limitMicros"}},{"kind":"Field","name":{"kind":"Name","value":"source"}},{"kind":"Field","name":{"kind":"Name","value":"group"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"displayName"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"chatUsageLimitStatus"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"currentSpendMicros"}},{"kind":"Field","name":{"kind":"Name","value":"spendLimitMicros"}},{"kind":"Field","name":{"kind":"Name","value":"exceeded"}}]}}]}}]} as unknown as DocumentNode<ConsoleUserRowFragment, unknown>;
export const ConsoleConfigDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"ConsoleConfig"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"chatUsageLimitConfig"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"enabled"}},{"kind":"Field","name":{"kind":"Name","value":"spendLimitMicros"}},{"kind":"Field","name":{"kind":"Name","value":"period"}},{"kind":"Field","name":{"kind":"Name","value":"enforcementMode"}},{"kind":"Field","name":{"kind":"Name","value":"reservationTtlSeconds"}},{"kind":"Field","name":{"kind":"Name","value":"unpricedModelCount"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}}]}}]}}]} as unknown as DocumentNode<ConsoleConfigQuery, ConsoleConfigQueryVariables>;
export const ConsoleUpdateConfigDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"ConsoleUpdateConfig"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"UpdateChatUsageLimitConfigInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"updateChatUsageLimitConfig"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"config"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"enabled"}},{"kind":"Field","name":{"kind":"Name","value":"spendLimitMicros"}},{"kind":"Field","name":{"kind":"Name","value":"period"}},{"kind":"Field","name":{"kind":"Name","value":"enforcementMode"}},{"kind":"Field","name":{"kind":"Name","value":"reservationTtlSeconds"}},{"kind":"Field","name":{"kind":"Name","value":"unpricedModelCount"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}}]}},{"kind":"Field","name":{"kind":"Name","value":"errors"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"field"}}]}}]}}]}}]} as unknown as DocumentNode<ConsoleUpdateConfigMutation, ConsoleUpdateConfigMutationVariables>;
export const ConsoleGroupsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"ConsoleGroups"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"groups"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"nodes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"displayName"}},{"kind":"Field","name":{"kind":"Name","value":"isEveryone"}},{"kind":"Field","name":{"kind":"Name","value":"memberCount"}},{"kind":"Field","name":{"kind":"Name","value":"chatSpendLimitMicros"}},{"kind":"Field","name":{"kind":"Name","value":"organization"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"displayName"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}},{"kind":"Field","name":{"kind":"Name","value":"totalCount"}}]}}]}}]} as unknown as DocumentNode<ConsoleGroupsQuery, ConsoleGroupsQueryVariables>;
export const ConsoleChangesDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"ConsoleChanges"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"kind"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"ChatUsageLimitChangeKind"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"userId"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"chatUsageLimitChanges"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"kind"},"value":{"kind":"Variable","name":{"kind":"Name","value":"kind"}}},{"kind":"Argument","name":{"kind":"Name","value":"userId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"userId"}}},{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"nodes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"at"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"actor"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"username"}}]}},{"kind":"Field","name":{"kind":"Name","value":"actorService"}},{"kind":"Field","name":{"kind":"Name","value":"user"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"username"}}]}},{"kind":"Field","name":{"kind":"Name","value":"group"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"displayName"}}]}},{"kind":"Field","name":{"kind":"Name","value":"oldSpendLimitMicros"}},{"kind":"Field","name":{"kind":"Name","value":"newSpendLimitMicros"}},{"kind":"Field","name":{"kind":"Name","value":"oldEnabled"}},{"kind":"Field","name":{"kind":"Name","value":"newEnabled"}},{"kind":"Field","name":{"kind":"Name","value":"oldPeriod"}},{"kind":"Field","name":{"kind":"Name","value":"newPeriod"}}]}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}},{"kind":"Field","name":{"kind":"Name","value":"totalCount"}}]}}]}}]} as unknown as DocumentNode<ConsoleChangesQuery, ConsoleChangesQueryVariables>;
export const ConsoleSpendHistoryDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"ConsoleSpendHistory"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"from"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"DateTime"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"to"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"DateTime"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"user"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"chatSpendHistory"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"from"},"value":{"kind":"Variable","name":{"kind":"Name","value":"from"}}},{"kind":"Argument","name":{"kind":"Name","value":"to"},"value":{"kind":"Variable","name":{"kind":"Name","value":"to"}}},{"kind":"Argument","name":{"kind":"Name","value":"bucket"},"value":{"kind":"EnumValue","value":"DAY"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"totalMicros"}},{"kind":"Field","name":{"kind":"Name","value":"points"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"start"}},{"kind":"Field","name":{"kind":"Name","value":"spendMicros"}}]}}]}}]}}]}}]} as unknown as DocumentNode<ConsoleSpendHistoryQuery, ConsoleSpendHistoryQueryVariables>;
export const ConsoleMySpendHistoryDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"ConsoleMySpendHistory"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"from"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"DateTime"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"to"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"DateTime"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"viewer"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"chatSpendHistory"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"from"},"value":{"kind":"Variable","name":{"kind":"Name","value":"from"}}},{"kind":"Argument","name":{"kind":"Name","value":"to"},"value":{"kind":"Variable","name":{"kind":"Name","value":"to"}}},{"kind":"Argument","name":{"kind":"Name","value":"bucket"},"value":{"kind":"EnumValue","value":"DAY"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"totalMicros"}},{"kind":"Field","name":{"kind":"Name","value":"points"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"start"}},{"kind":"Field","name":{"kind":"Name","value":"spendMicros"}}]}}]}}]}}]}}]} as unknown as DocumentNode<ConsoleMySpendHistoryQuery, ConsoleMySpendHistoryQueryVariables>;
export const ConsoleRankingDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"ConsoleRanking"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"orderBy"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ChatSpendRankingOrder"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"minShareOfLimit"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Float"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"chatSpendRanking"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"orderBy"},"value":{"kind":"Variable","name":{"kind":"Name","value":"orderBy"}}},{"kind":"Argument","name":{"kind":"Name","value":"minShareOfLimit"},"value":{"kind":"Variable","name":{"kind":"Name","value":"minShareOfLimit"}}},{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"nodes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"shareOfLimit"}},{"kind":"Field","name":{"kind":"Name","value":"user"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"username"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"role"}},{"kind":"Field","name":{"kind":"Name","value":"isSystem"}},{"kind":"Field","name":{"kind":"Name","value":"chatSpendLimitMicros"}},{"kind":"Field","name":{"kind":"Name","value":"effectiveChatSpendLimit"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"limitMicros"}},{"kind":"Field","name":{"kind":"Name","value":"source"}},{"kind":"Field","name":{"kind":"Name","value":"group"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"displayName"}}]}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"status"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"currentSpendMicros"}},{"kind":"Field","name":{"kind":"Name","value":"spendLimitMicros"}},{"kind":"Field","name":{"kind":"Name","value":"exceeded"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}},{"kind":"Field","name":{"kind":"Name","value":"totalCount"}}]}}]}}]} as unknown as DocumentNode<ConsoleRankingQuery, ConsoleRankingQueryVariables>;
export const ConsoleThresholdsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"ConsoleThresholds"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"chatUsageLimitConfig"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"warningThresholdsPercent"}}]}}]}}]} as unknown as DocumentNode<ConsoleThresholdsQuery, ConsoleThresholdsQueryVariables>;
export const ConsoleUpdateThresholdsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"ConsoleUpdateThresholds"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"percents"}},"type":{"kind":"NonNullType","type":{"kind":"ListType","type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"updateChatUsageLimitConfig"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"ObjectValue","fields":[{"kind":"ObjectField","name":{"kind":"Name","value":"warningThresholdsPercent"},"value":{"kind":"Variable","name":{"kind":"Name","value":"percents"}}}]}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"config"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"warningThresholdsPercent"}}]}},{"kind":"Field","name":{"kind":"Name","value":"errors"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"field"}}]}}]}}]}}]} as unknown as DocumentNode<ConsoleUpdateThresholdsMutation, ConsoleUpdateThresholdsMutationVariables>;
export const ConsoleMyStatusLiveDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"ConsoleMyStatusLive"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"myChatUsageLimitStatus"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"ConsoleMyStatus"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ConsoleMyStatus"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ChatUsageLimitStatus"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"isLimited"}},{"kind":"Field","name":{"kind":"Name","value":"limitSource"}},{"kind":"Field","name":{"kind":"Name","value":"period"}},{"kind":"Field","name":{"kind":"Name","value":"spendLimitMicros"}},{"kind":"Field","name":{"kind":"Name","value":"currentSpendMicros"}},{"kind":"Field","name":{"kind":"Name","value":"remainingMicros"}},{"kind":"Field","name":{"kind":"Name","value":"heldMicros"}},{"kind":"Field","name":{"kind":"Name","value":"exceeded"}},{"kind":"Field","name":{"kind":"Name","value":"periodStart"}},{"kind":"Field","name":{"kind":"Name","value":"periodEnd"}},{"kind":"Field","name":{"kind":"Name","value":"warningThresholdPercent"}}]}}]} as unknown as DocumentNode<ConsoleMyStatusLiveSubscription, ConsoleMyStatusLiveSubscriptionVariables>;
export const ConsoleMyUsageDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"ConsoleMyUsage"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"myChatUsageLimitStatus"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"ConsoleMyStatus"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ConsoleMyStatus"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ChatUsageLimitStatus"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"isLimited"}},{"kind":"Field","name":{"kind":"Name","value":"limitSource"}},{"kind":"Field","name":{"kind":"Name","value":"period"}},{"kind":"Field","name":{"kind":"Name","value":"spendLimitMicros"}},{"kind":"Field","name":{"kind":"Name","value":"currentSpendMicros"}},{"kind":"Field","name":{"kind":"Name","value":"remainingMicros"}},{"kind":"Field","name":{"kind":"Name","value":"heldMicros"}},{"kind":"Field","name":{"kind":"Name","value":"exceeded"}},{"kind":"Field","name":{"kind":"Name","value":"periodStart"}},{"kind":"Field","name":{"kind":"Name","value":"periodEnd"}},{"kind":"Field","name":{"kind":"Name","value":"warningThresholdPercent"}}]}}]} as unknown as DocumentNode<ConsoleMyUsageQuery, ConsoleMyUsageQueryVariables>;
export const ConsoleSetUserOverrideDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"ConsoleSetUserOverride"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"userId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"spendLimitMicros"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Micros"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"upsertChatUsageLimitOverride"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"ObjectValue","fields":[{"kind":"ObjectField","name":{"kind":"Name","value":"userId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"userId"}}},{"kind":"ObjectField","name":{"kind":"Name","value":"spendLimitMicros"},"value":{"kind":"Variable","name":{"kind":"Name","value":"spendLimitMicros"}}}]}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"override"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"spendLimitMicros"}},{"kind":"Field","name":{"kind":"Name","value":"user"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"errors"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"field"}}]}}]}}]}}]} as unknown as DocumentNode<ConsoleSetUserOverrideMutation, ConsoleSetUserOverrideMutationVariables>;
export const ConsoleRemoveUserOverrideDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"ConsoleRemoveUserOverride"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"userId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"deleteChatUsageLimitOverride"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"ObjectValue","fields":[{"kind":"ObjectField","name":{"kind":"Name","value":"userId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"userId"}}}]}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"deletedUserId"}},{"kind":"Field","name":{"kind":"Name","value":"errors"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"field"}}]}}]}}]}}]} as unknown as DocumentNode<ConsoleRemoveUserOverrideMutation, ConsoleRemoveUserOverrideMutationVariables>;
export const ConsoleSetGroupOverrideDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"ConsoleSetGroupOverride"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"groupId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"spendLimitMicros"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Micros"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"upsertChatUsageLimitGroupOverride"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"ObjectValue","fields":[{"kind":"ObjectField","name":{"kind":"Name","value":"groupId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"groupId"}}},{"kind":"ObjectField","name":{"kind":"Name","value":"spendLimitMicros"},"value":{"kind":"Variable","name":{"kind":"Name","value":"spendLimitMicros"}}}]}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"groupOverride"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"spendLimitMicros"}},{"kind":"Field","name":{"kind":"Name","value":"memberCount"}},{"kind":"Field","name":{"kind":"Name","value":"group"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"errors"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"field"}}]}}]}}]}}]} as unknown as DocumentNode<ConsoleSetGroupOverrideMutation, ConsoleSetGroupOverrideMutationVariables>;
export const ConsoleRemoveGroupOverrideDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"ConsoleRemoveGroupOverride"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"groupId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"deleteChatUsageLimitGroupOverride"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"ObjectValue","fields":[{"kind":"ObjectField","name":{"kind":"Name","value":"groupId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"groupId"}}}]}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"deletedGroupId"}},{"kind":"Field","name":{"kind":"Name","value":"errors"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"field"}}]}}]}}]}}]} as unknown as DocumentNode<ConsoleRemoveGroupOverrideMutation, ConsoleRemoveGroupOverrideMutationVariables>;
export const ConsoleUsersDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"ConsoleUsers"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"search"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"users"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}},{"kind":"Argument","name":{"kind":"Name","value":"search"},"value":{"kind":"Variable","name":{"kind":"Name","value":"search"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"nodes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"ConsoleUserRow"}}]}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}},{"kind":"Field","name":{"kind":"Name","value":"totalCount"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ConsoleUserRow"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"User"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"username"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"role"}},{"kind":"Field","name":{"kind":"Name","value":"isSystem"}},{"kind":"Field","name":{"kind":"Name","value":"chatSpendLimitMicros"}},{"kind":"Field","name":{"kind":"Name","value":"effectiveChatSpendLimit"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"limitMicros"}},{"kind":"Field","name":{"kind":"Name","value":"source"}},{"kind":"Field","name":{"kind":"Name","value":"group"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"displayName"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"chatUsageLimitStatus"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"currentSpendMicros"}},{"kind":"Field","name":{"kind":"Name","value":"spendLimitMicros"}},{"kind":"Field","name":{"kind":"Name","value":"exceeded"}}]}}]}}]} as unknown as DocumentNode<ConsoleUsersQuery, ConsoleUsersQueryVariables>;
export const ConsoleUserDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"ConsoleUser"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"user"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"ConsoleUserRow"}},{"kind":"Field","name":{"kind":"Name","value":"email"}},{"kind":"Field","name":{"kind":"Name","value":"deleted"}},{"kind":"Field","name":{"kind":"Name","value":"groups"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"displayName"}},{"kind":"Field","name":{"kind":"Name","value":"isEveryone"}},{"kind":"Field","name":{"kind":"Name","value":"chatSpendLimitMicros"}},{"kind":"Field","name":{"kind":"Name","value":"organization"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"chatUsageLimitStatus"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"isLimited"}},{"kind":"Field","name":{"kind":"Name","value":"limitSource"}},{"kind":"Field","name":{"kind":"Name","value":"period"}},{"kind":"Field","name":{"kind":"Name","value":"currentSpendMicros"}},{"kind":"Field","name":{"kind":"Name","value":"spendLimitMicros"}},{"kind":"Field","name":{"kind":"Name","value":"remainingMicros"}},{"kind":"Field","name":{"kind":"Name","value":"heldMicros"}},{"kind":"Field","name":{"kind":"Name","value":"exceeded"}},{"kind":"Field","name":{"kind":"Name","value":"periodStart"}},{"kind":"Field","name":{"kind":"Name","value":"periodEnd"}},{"kind":"Field","name":{"kind":"Name","value":"warningThresholdPercent"}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ConsoleUserRow"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"User"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"username"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"role"}},{"kind":"Field","name":{"kind":"Name","value":"isSystem"}},{"kind":"Field","name":{"kind":"Name","value":"chatSpendLimitMicros"}},{"kind":"Field","name":{"kind":"Name","value":"effectiveChatSpendLimit"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"limitMicros"}},{"kind":"Field","name":{"kind":"Name","value":"source"}},{"kind":"Field","name":{"kind":"Name","value":"group"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"displayName"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"chatUsageLimitStatus"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"currentSpendMicros"}},{"kind":"Field","name":{"kind":"Name","value":"spendLimitMicros"}},{"kind":"Field","name":{"kind":"Name","value":"exceeded"}}]}}]}}]} as unknown as DocumentNode<ConsoleUserQuery, ConsoleUserQueryVariables>;
export const ConsoleViewerDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"ConsoleViewer"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"viewer"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"username"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"role"}}]}}]}}]} as unknown as DocumentNode<ConsoleViewerQuery, ConsoleViewerQueryVariables>;