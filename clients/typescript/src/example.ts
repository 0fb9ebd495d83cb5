// How a frontend uses the generated types; `npm run typecheck` (tsc, strict) checks this file.
import type {
  DaemonCheckQuery,
  DaemonCheckQueryVariables,
  UpsertUserSpendLimitMutation,
  UpsertUserSpendLimitMutationVariables,
  UsageIndicatorQuery,
  UsageIndicatorQueryVariables,
} from "./generated";

interface GraphQLResponse<TData> {
  data?: TData | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/** Posts one operation (the text of a document in ../operations) and returns its typed data. */
export async function request<TData, TVariables>(
  endpoint: string,
  token: string,
  document: string,
  variables: TVariables,
): Promise<TData> {
  const response = await fetch(endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: document, variables }),
  });
  const body = (await response.json()) as GraphQLResponse<TData>;
  if (body.errors?.length || !body.data) {
    throw new Error(body.errors?.map((error) => error.message).join("; ") ?? `HTTP ${response.status}`);
  }
  return body.data;
}

export function dollars(micros: number): string {
  return `$${(micros / 1_000_000).toFixed(2)}`;
}

type UsageStatus = UsageIndicatorQuery["myChatUsageLimitStatus"];

/** How full the usage bar is, 0 to 100; null when the user has no limit. */
export function usagePercent(status: UsageStatus): number | null {
  if (!status.isLimited || status.spendLimitMicros === null || status.spendLimitMicros === 0) {
    return null;
  }
  return Math.min(100, (100 * status.currentSpendMicros) / status.spendLimitMicros);
}

export async function loadUsageIndicator(endpoint: string, token: string, document: string): Promise<string> {
  const variables: UsageIndicatorQueryVariables = { organizationId: null };
  const { viewer, myChatUsageLimitStatus: status } = await request<
    UsageIndicatorQuery,
    UsageIndicatorQueryVariables
  >(endpoint, token, document, variables);
  const percent = usagePercent(status);
  const who = viewer?.name || viewer?.username || "service";
  if (percent === null) {
    return `${who}: ${dollars(status.currentSpendMicros)} spent, no limit`;
  }
  const resets = status.periodEnd === null ? "" : `, resets ${new Date(status.periodEnd).toUTCString()}`;
  return `${who}: ${percent.toFixed(0)}% of ${dollars(status.spendLimitMicros ?? 0)}${resets}`;
}

/** What the daemon tells the user when the work is refused; null when it may go on. */
export function refusal(check: DaemonCheckQuery["chatUsageLimitCheck"]): string | null {
  if (check.allowed) {
    return null;
  }
  const exceeded = check.exceeded;
  if (exceeded === null) {
    return "Chat usage could not be checked; try again shortly.";
  }
  return (
    `${exceeded.message} ${dollars(exceeded.spentMicros)} of ${dollars(exceeded.limitMicros)} spent; ` +
    `resets ${new Date(exceeded.resetsAt).toUTCString()}.`
  );
}

export async function admit(endpoint: string, token: string, document: string, userId: string): Promise<string | null> {
  const variables: DaemonCheckQueryVariables = { userId };
  const data = await request<DaemonCheckQuery, DaemonCheckQueryVariables>(endpoint, token, document, variables);
  return refusal(data.chatUsageLimitCheck);
}

/** Sets a user's own limit; expected failures come back as data, not exceptions. */
export async function setUserLimit(
  endpoint: string,
  token: string,
  document: string,
  userId: string,
  dollarsPerPeriod: number,
): Promise<string[]> {
  const variables: UpsertUserSpendLimitMutationVariables = {
    input: { userId, spendLimitMicros: Math.round(dollarsPerPeriod * 1_000_000) },
  };
  const data = await request<UpsertUserSpendLimitMutation, UpsertUserSpendLimitMutationVariables>(
    endpoint,
    token,
    document,
    variables,
  );
  return data.upsertChatUsageLimitOverride.errors.map((error) => `${error.code}: ${error.message}`);
}
