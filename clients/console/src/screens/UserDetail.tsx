// One user: status, the overrides that could apply and which one wins, the daily spend of the last
// 90 days (history API) and the audit entries about them (audit API).
import { useMemo } from "react";
import { useQuery } from "urql";

import { QueryState } from "../components/QueryState";
import { SpendChart } from "../components/SpendChart";
import { StatusFacts } from "../components/StatusFacts";
import { ConsoleUserDocument } from "../gql/graphql";
import { SpendHistoryDocument } from "../insight/documents";
import { formatLimit, formatMicros } from "../lib/money";
import { sourceLabel } from "../lib/labels";
import { useSession } from "../lib/session-context";
import { lastDays } from "../lib/time";
import { ChangeList } from "./Audit";

export function UserDetail(props: { id: string }) {
  const { capabilities, thresholds } = useSession();
  const [result] = useQuery({ query: ConsoleUserDocument, variables: { id: props.id } });
  const user = result.data?.user;
  return (
    <QueryState fetching={result.fetching} error={result.error} hasData={result.data !== undefined}>
      {() =>
        !user ? (
          <section className="notice">
            <h1>No such user</h1>
          </section>
        ) : (
          <section aria-labelledby="user-title">
            <h1 id="user-title">
              {user.username} <span className="sub">{user.name}</span>
            </h1>
            <p>
              {user.role.toLowerCase()}
              {user.email ? ` · ${user.email}` : ""}
              {user.deleted ? " · deleted" : ""}
            </p>
            <h2>This period</h2>
            <StatusFacts status={user.chatUsageLimitStatus} thresholds={thresholds} />
            <h2>Why this limit</h2>
            <p data-testid="winning-source">
              {formatLimit(user.effectiveChatSpendLimit.limitMicros)} from{" "}
              {sourceLabel(user.effectiveChatSpendLimit.source, user.effectiveChatSpendLimit.group)}.
            </p>
            <ul className="overrides">
              <li className={user.effectiveChatSpendLimit.source === "USER" ? "wins" : ""}>
                Own override: {user.chatSpendLimitMicros === null ? "none" : formatMicros(user.chatSpendLimitMicros)}
                {user.effectiveChatSpendLimit.source === "USER" && " — wins: a user's own override beats any group or the default."}
              </li>
              {user.groups
                .filter((group) => group.chatSpendLimitMicros !== null)
                .map((group) => (
                  <li key={group.id} className={user.effectiveChatSpendLimit.group?.id === group.id ? "wins" : ""}>
                    Group {group.displayName || group.name} ({group.organization.name}): {formatLimit(group.chatSpendLimitMicros)}
                    {user.effectiveChatSpendLimit.group?.id === group.id && " — wins: the lowest of the user's group overrides."}
                  </li>
                ))}
              {user.effectiveChatSpendLimit.source === "DEFAULT" && <li className="wins">The default limit — no override applies.</li>}
            </ul>
            {capabilities.history && <UserHistory id={user.id} />}
            {capabilities.audit && (
              <>
                <h2>Changes about this user</h2>
                <ChangeList kind={null} userId={user.id} />
              </>
            )}
          </section>
        )
      }
    </QueryState>
  );
}

function UserHistory(props: { id: string }) {
  const range = useMemo(() => lastDays(90), []);
  const [result] = useQuery({ query: SpendHistoryDocument, variables: { id: props.id, ...range } });
  const series = result.data?.user?.chatSpendHistory;
  return (
    <>
      <h2>Daily spend, last 90 days</h2>
      <QueryState fetching={result.fetching} error={result.error} hasData={series !== undefined}>
        {() => series && <SpendChart series={series} title="Daily spend, last 90 days" />}
      </QueryState>
    </>
  );
}
