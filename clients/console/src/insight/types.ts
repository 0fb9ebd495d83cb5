// Result types of the insight and live operations, written by hand from the API contract while the
// schema this branch generates from lacks those fields. Once it has them, run codegen with
// CONSOLE_CODEGEN_INSIGHT=1: it validates these operations and generates the same shapes.
import type { ChatSpendLimitSource, ChatUsageLimitPeriod, Role } from "../gql/graphql";

export type ChatSpendRankingOrder = "SPEND_DESC" | "SHARE_OF_LIMIT_DESC";
export type ChatUsageLimitChangeKind = "CONFIG" | "USER_OVERRIDE" | "GROUP_OVERRIDE";

export interface SpendSeries {
  totalMicros: number;
  points: { start: string; spendMicros: number }[];
}

export interface SpendHistoryData {
  user: { id: string; chatSpendHistory: SpendSeries } | null;
}

export interface MySpendHistoryData {
  viewer: { id: string; chatSpendHistory: SpendSeries } | null;
}

export interface HistoryVariables {
  from: string;
  to: string;
}

export interface RankingData {
  chatSpendRanking: {
    nodes: {
      shareOfLimit: number | null;
      user: {
        id: string;
        username: string;
        name: string;
        role: Role;
        isSystem: boolean;
        chatSpendLimitMicros: number | null;
        effectiveChatSpendLimit: {
          limitMicros: number | null;
          source: ChatSpendLimitSource;
          group: { id: string; name: string; displayName: string } | null;
        };
      };
      status: { currentSpendMicros: number; spendLimitMicros: number | null; exceeded: boolean };
    }[];
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
    totalCount: number;
  };
}

export interface RankingVariables {
  orderBy: ChatSpendRankingOrder;
  minShareOfLimit: number | null;
  first: number;
  after: string | null;
}

export interface LimitChange {
  id: string;
  at: string;
  kind: ChatUsageLimitChangeKind;
  actor: { id: string; username: string } | null;
  actorService: string | null;
  user: { id: string; username: string } | null;
  group: { id: string; name: string; displayName: string } | null;
  oldSpendLimitMicros: number | null;
  newSpendLimitMicros: number | null;
  oldEnabled: boolean | null;
  newEnabled: boolean | null;
  oldPeriod: ChatUsageLimitPeriod | null;
  newPeriod: ChatUsageLimitPeriod | null;
}

export interface ChangesData {
  chatUsageLimitChanges: {
    nodes: LimitChange[];
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
    totalCount: number;
  };
}

export interface ChangesVariables {
  kind: ChatUsageLimitChangeKind | null;
  userId: string | null;
  first: number;
  after: string | null;
}

export interface ThresholdsData {
  chatUsageLimitConfig: { warningThresholdsPercent: number[] };
}

export interface UpdateThresholdsData {
  updateChatUsageLimitConfig: {
    config: { warningThresholdsPercent: number[] } | null;
    errors: { code: string; message: string; field: string[] | null }[];
  };
}

export interface MyStatusLiveData {
  myChatUsageLimitStatus: import("../gql/graphql").ConsoleMyStatusFragment;
}
