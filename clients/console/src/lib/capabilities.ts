// Which optional parts of the API this server has. Some screens use fields that arrive with the
// insight and live-status work; asking the schema once at sign-in (a small introspection query)
// lets the console hide those screens on a server without them, and show them once it has them.
import type { Client } from "urql";
import { gql } from "urql";

export interface Capabilities {
  /** User.chatSpendHistory: the daily spend charts. */
  history: boolean;
  /** Query.chatSpendRanking: sort by spend or share, filter "at or above N%". */
  ranking: boolean;
  /** Query.chatUsageLimitChanges: the audit log. */
  audit: boolean;
  /** ChatUsageLimitConfig.warningThresholdsPercent: thresholds in the overview. */
  thresholds: boolean;
  /** ChatUsageLimitStatus.warningThresholdPercent: the server's own warning level. */
  statusWarning: boolean;
  /** Subscription.myChatUsageLimitStatus: live status over graphql-ws. */
  live: boolean;
}

export const NO_CAPABILITIES: Capabilities = {
  history: false,
  ranking: false,
  audit: false,
  thresholds: false,
  statusWarning: false,
  live: false,
};

const SCHEMA_FIELDS = gql`
  query ConsoleCapabilities {
    query: __type(name: "Query") {
      fields {
        name
      }
    }
    subscription: __type(name: "Subscription") {
      fields {
        name
      }
    }
    user: __type(name: "User") {
      fields {
        name
      }
    }
    config: __type(name: "ChatUsageLimitConfig") {
      fields {
        name
      }
    }
    status: __type(name: "ChatUsageLimitStatus") {
      fields {
        name
      }
    }
  }
`;

type Fields = { fields: { name: string }[] | null } | null;
interface SchemaFields {
  query: Fields;
  subscription: Fields;
  user: Fields;
  config: Fields;
  status: Fields;
}

export function capabilitiesFrom(data: SchemaFields): Capabilities {
  const has = (type: Fields, name: string) => (type?.fields ?? []).some((field) => field.name === name);
  return {
    history: has(data.user, "chatSpendHistory"),
    ranking: has(data.query, "chatSpendRanking"),
    audit: has(data.query, "chatUsageLimitChanges"),
    thresholds: has(data.config, "warningThresholdsPercent"),
    statusWarning: has(data.status, "warningThresholdPercent"),
    live: has(data.subscription, "myChatUsageLimitStatus"),
  };
}

/** The server's capabilities; none when the schema cannot be read (the core screens still work). */
export async function detectCapabilities(client: Client): Promise<Capabilities> {
  const result = await client.query<SchemaFields>(SCHEMA_FIELDS, {}, { requestPolicy: "network-only" }).toPromise();
  return result.data ? capabilitiesFrom(result.data) : NO_CAPABILITIES;
}
