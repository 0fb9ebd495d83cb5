// The GraphQL client: urql over fetch to /graphql with the signed-in token, and graphql-ws for the
// live subscription on the same path (only opened when a screen subscribes).
import { createClient as createWsClient } from "graphql-ws";
import { Client, cacheExchange, fetchExchange, subscriptionExchange } from "urql";

export const GRAPHQL_PATH = "/graphql";

export interface ClientEvents {
  /** The server refused the token (HTTP 401): it is unknown, revoked or missing. */
  onUnauthorized: () => void;
}

export function createClient(token: string, events: ClientEvents): Client {
  const authorization = `Bearer ${token}`;
  const fetchWatchingStatus: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    if (response.status === 401) events.onUnauthorized();
    return response;
  };
  const socketUrl = `${window.location.protocol === "https:" ? "wss" : "ws"}://${window.location.host}${GRAPHQL_PATH}`;
  const sockets = createWsClient({
    url: socketUrl,
    lazy: true,
    connectionParams: { Authorization: authorization },
    retryAttempts: 5,
  });
  return new Client({
    url: GRAPHQL_PATH,
    fetch: fetchWatchingStatus,
    fetchOptions: { headers: { Authorization: authorization } },
    // Mutations invalidate every cached result holding a type they return, so tables refresh.
    exchanges: [
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query ?? "" };
          return {
            subscribe(sink) {
              const unsubscribe = sockets.subscribe(input, sink);
              return { unsubscribe };
            },
          };
        },
      }),
    ],
  });
}

/** The error code of a GraphQL error, e.g. FORBIDDEN. */
export function errorCodes(error: { graphQLErrors: { extensions?: Record<string, unknown> }[] } | undefined): string[] {
  return (error?.graphQLErrors ?? []).map((e) => String(e.extensions?.["code"] ?? ""));
}
