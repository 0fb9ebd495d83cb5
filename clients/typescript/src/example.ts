// How a frontend or the daemon uses the client: typed documents from src/gql (generated from
// ../operations by `make client`), sent by their SHA-256 hash, and the money module for amounts.
// `npm run typecheck` (tsc, strict) checks this file.
import {
  ApiTokensDocument,
  DaemonCheckDocument,
  ReleaseChatSpendDocument,
  ReserveChatSpendDocument,
  RevokeApiTokenDocument,
  SettleChatSpendDocument,
  type DaemonCheckQuery,
  type TypedDocumentString,
  UpsertUserSpendLimitDocument,
  UsageIndicatorDocument,
  type UsageIndicatorQuery,
  UserListDocument,
} from "./gql/graphql";
import { formatMicros, parseDollars } from "./money";

interface GraphQLResponse<TData> {
  data?: TData | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

export class GraphQLRequestError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = "GraphQLRequestError";
  }
}

/**
 * Runs one typed operation and returns its typed data. The document goes by its hash
 * ({"documentId": "sha256:..."}): the server knows it from its trusted documents. A server that
 * does not (PERSISTED_QUERY_NOT_FOUND) gets the text once more.
 */
export async function request<TData, TVariables>(
  endpoint: string,
  token: string,
  document: TypedDocumentString<TData, TVariables>,
  variables: TVariables,
): Promise<TData> {
  const hash = document.__meta__?.["hash"] as string | undefined;
  const post = async (body: object): Promise<GraphQLResponse<TData>> => {
    const response = await fetch(endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
    return (await response.json()) as GraphQLResponse<TData>;
  };
  let body = hash ? await post({ documentId: hash, variables }) : await post({ query: document.toString(), variables });
  if (hash && body.errors?.[0]?.extensions?.code === "PERSISTED_QUERY_NOT_FOUND") {
    body = await post({ query: document.toString(), variables });
  }
  if (body.errors?.length || !body.data) {
    const first = body.errors?.[0];
    throw new GraphQLRequestError(
      body.errors?.map((error) => error.message).join("; ") ?? "no data",
      first?.extensions?.code,
    );
  }
  return body.data;
}

type UsageStatus = UsageIndicatorQuery["myChatUsageLimitStatus"];

/** How full the usage bar is, 0 to 100; null when the user has no limit. */
export function usagePercent(status: UsageStatus): number | null {
  if (!status.isLimited || status.spendLimitMicros === null || status.spendLimitMicros === 0) {
    return null;
  }
  return Math.min(100, (100 * status.currentSpendMicros) / status.spendLimitMicros);
}

export async function loadUsageIndicator(endpoint: string, token: string): Promise<string> {
  const { viewer, myChatUsageLimitStatus: status } = await request(endpoint, token, UsageIndicatorDocument, {
    organizationId: null,
  });
  const percent = usagePercent(status);
  const who = viewer?.name || viewer?.username || "service";
  if (percent === null) {
    return `${who}: ${formatMicros(status.currentSpendMicros)} spent, no limit`;
  }
  const resets = status.periodEnd === null ? "" : `, resets ${new Date(status.periodEnd).toUTCString()}`;
  return `${who}: ${percent.toFixed(0)}% of ${formatMicros(status.spendLimitMicros ?? 0)}${resets}`;
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
    `${exceeded.message} ${formatMicros(exceeded.spentMicros)} of ${formatMicros(exceeded.limitMicros)} spent; ` +
    `resets ${new Date(exceeded.resetsAt).toUTCString()}.`
  );
}

export async function admit(endpoint: string, token: string, userId: string): Promise<string | null> {
  const data = await request(endpoint, token, DaemonCheckDocument, { userId });
  return refusal(data.chatUsageLimitCheck);
}

/**
 * One LLM call under a reservation: hold the most it may cost, run it, then settle with what it
 * cost, or release the hold when it never ran. Returns null when the call was refused.
 */
export async function withReservation(
  endpoint: string,
  token: string,
  call: { userId: string; chatId: string; modelId: string; estimateMicros: number; idempotencyKey: string },
  run: () => Promise<{ inputTokens: number; outputTokens: number }>,
): Promise<string | null> {
  const reserved = await request(endpoint, token, ReserveChatSpendDocument, {
    input: {
      userId: call.userId,
      chatId: call.chatId,
      estimateMicros: call.estimateMicros,
      idempotencyKey: call.idempotencyKey,
    },
  });
  const reservation = reserved.reserveChatSpend.reservation;
  if (reservation === null) {
    const check = reserved.reserveChatSpend.check;
    return check?.exceeded?.message ?? reserved.reserveChatSpend.errors[0]?.message ?? "Refused.";
  }
  let usage: { inputTokens: number; outputTokens: number };
  try {
    usage = await run();
  } catch (error) {
    await request(endpoint, token, ReleaseChatSpendDocument, { input: { reservationId: reservation.id } });
    throw error;
  }
  const settled = await request(endpoint, token, SettleChatSpendDocument, {
    input: {
      reservationId: reservation.id,
      message: {
        chatId: call.chatId,
        role: "ASSISTANT",
        modelId: call.modelId,
        usage,
        idempotencyKey: call.idempotencyKey,
      },
    },
  });
  return settled.settleChatSpend.errors.length ? settled.settleChatSpend.errors[0]!.message : null;
}

/** Sets a user's own limit from what an admin typed ("12.50"); field errors come back as text. */
export async function setUserLimit(endpoint: string, token: string, userId: string, typed: string): Promise<string[]> {
  const data = await request(endpoint, token, UpsertUserSpendLimitDocument, {
    input: { userId, spendLimitMicros: parseDollars(typed) },
  });
  return data.upsertChatUsageLimitOverride.errors.map((error) => `${error.code}: ${error.message}`);
}

/** One line per user of a page: "ada  $7.80 of $10.00". */
export async function userSpendLines(endpoint: string, token: string, search: string | null): Promise<string[]> {
  const { users } = await request(endpoint, token, UserListDocument, { first: 100, search });
  return users.nodes.map((user) => {
    const status = user.chatUsageLimitStatus;
    const limit = status.spendLimitMicros === null ? "no limit" : `of ${formatMicros(status.spendLimitMicros)}`;
    return `${user.username}  ${formatMicros(status.currentSpendMicros)} ${limit}`;
  });
}

/** Revokes every live token of a name (say, a laptop that was lost); returns the revoked ids. */
export async function revokeTokensNamed(endpoint: string, token: string, name: string): Promise<string[]> {
  const { apiTokens } = await request(endpoint, token, ApiTokensDocument, { first: 500, includeRevoked: false });
  const revoked: string[] = [];
  for (const candidate of apiTokens.nodes.filter((t) => t.name === name)) {
    const result = await request(endpoint, token, RevokeApiTokenDocument, { input: { tokenId: candidate.id } });
    if (result.revokeApiToken.revokedTokenId !== null) {
      revoked.push(result.revokeApiToken.revokedTokenId);
    }
  }
  return revoked;
}
