// A live usage bar: Subscription.myChatUsageLimitStatus over graphql-transport-ws with the
// `graphql-ws` client, typed by the MyStatusLive types generated into src/gql. `npm run typecheck` checks it.
import { createClient, type Client } from "graphql-ws";

import type { MyStatusLiveSubscription, MyStatusLiveSubscriptionVariables } from "./gql/graphql";

export type LiveStatus = MyStatusLiveSubscription["myChatUsageLimitStatus"];

/** ws:// or wss:// for the page's http:// or https:// GraphQL endpoint (the same path serves both). */
export function websocketUrl(httpEndpoint: string): string {
  return httpEndpoint.replace(/^http/, "ws");
}

/**
 * One WebSocket per page. The token goes in the connection_init payload (browsers cannot set
 * headers on a WebSocket); the server closes a bad or revoked token with 4403, which is final, so
 * the client does not retry it. Other closes (1012 on a server restart, a lost network) reconnect,
 * and the subscription starts again with the current status.
 */
export function liveClient(httpEndpoint: string, token: string): Client {
  return createClient({
    url: websocketUrl(httpEndpoint),
    connectionParams: { Authorization: `Bearer ${token}` },
    lazy: true,
    retryAttempts: Infinity,
    shouldRetry: (event) => !(event instanceof CloseEvent && event.code === 4403),
  });
}

/**
 * Calls `onStatus` with the current status at once and with each change after; returns the
 * function that stops the subscription. `document` is the text of ../operations/myStatusLive.graphql.
 */
export function watchMyStatus(
  client: Client,
  document: string,
  variables: MyStatusLiveSubscriptionVariables,
  onStatus: (status: LiveStatus) => void,
  onError: (error: unknown) => void,
): () => void {
  return client.subscribe<MyStatusLiveSubscription>(
    { query: document, variables },
    {
      next: (result) => {
        if (result.errors?.length) {
          onError(new Error(result.errors.map((error) => error.message).join("; ")));
        } else if (result.data) {
          onStatus(result.data.myChatUsageLimitStatus);
        }
      },
      error: onError,
      complete: () => undefined,
    },
  );
}

/** The text a usage bar shows for a status: spend and what is left, or that there is no limit. */
export function describe(status: LiveStatus): string {
  const dollars = (micros: number): string => `$${(micros / 1_000_000).toFixed(2)}`;
  if (!status.isLimited || status.spendLimitMicros === null) {
    return "No spend limit.";
  }
  const left = status.remainingMicros ?? 0;
  const held = status.heldMicros > 0 ? ` (${dollars(status.heldMicros)} held)` : "";
  const state = status.exceeded ? "limit reached" : `${dollars(left)} left${held}`;
  return `${dollars(status.currentSpendMicros)} of ${dollars(status.spendLimitMicros)}: ${state}`;
}
