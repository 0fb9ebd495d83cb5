// Words for the API's enums, in one place.
import type { ChatSpendLimitSource, ChatUsageLimitPeriod } from "../gql/graphql";

export function sourceLabel(source: ChatSpendLimitSource, group: { displayName: string; name: string } | null): string {
  switch (source) {
    case "USER":
      return "User override";
    case "GROUP":
      return group ? `Group: ${group.displayName || group.name}` : "Group";
    case "DEFAULT":
      return "Default";
    case "DISABLED":
      return "Limits off";
  }
}

export const PERIOD_LABELS: Record<ChatUsageLimitPeriod, string> = {
  DAY: "Day",
  WEEK: "Week",
  MONTH: "Month",
};
