// The member's own page: limit, spend, remaining, reset time and warning level, kept current by the
// live subscription when the server has it, else by polling; plus their daily spend chart.
import { useEffect, useMemo, useState } from "react";
import { useQuery, useSubscription } from "urql";

import { QueryState } from "../components/QueryState";
import { SpendChart } from "../components/SpendChart";
import { StatusFacts } from "../components/StatusFacts";
import { ConsoleMyUsageDocument } from "../gql/graphql";
import { MySpendHistoryDocument, MyStatusLiveDocument } from "../insight/documents";
import { useSession } from "../lib/session-context";
import { lastDays } from "../lib/time";

/** How often the page asks again when the server cannot push (no subscription yet). */
export const POLL_SECONDS = 5;

export function Me() {
  const { viewer, capabilities, thresholds } = useSession();
  const [polled, reexecute] = useQuery({ query: ConsoleMyUsageDocument, requestPolicy: "network-only" });
  const [live] = useSubscription({ query: MyStatusLiveDocument, pause: !capabilities.live });
  const [updatedAt, setUpdatedAt] = useState<Date | null>(null);

  useEffect(() => {
    if (capabilities.live) return undefined;
    const timer = window.setInterval(() => reexecute({ requestPolicy: "network-only" }), POLL_SECONDS * 1000);
    return () => window.clearInterval(timer);
  }, [capabilities.live, reexecute]);

  const status = live.data?.myChatUsageLimitStatus ?? polled.data?.myChatUsageLimitStatus;
  useEffect(() => {
    if (status) setUpdatedAt(new Date());
  }, [status]);

  const connected = capabilities.live && live.data !== undefined && !live.error;
  return (
    <section aria-labelledby="me-title">
      <h1 id="me-title">Your usage, {viewer.name || viewer.username}</h1>
      <p className={`live ${connected ? "on" : "polling"}`} aria-live="polite" data-testid="live-indicator">
        <span className="dot" aria-hidden="true" />
        {connected
          ? "Live: updates as you spend."
          : `Refreshing every ${POLL_SECONDS} s`}
        {updatedAt && ` · updated ${updatedAt.toISOString().slice(11, 19)} UTC`}
      </p>
      <QueryState fetching={polled.fetching} error={polled.error} hasData={status !== undefined}>
        {() => status && <StatusFacts status={status} thresholds={thresholds} />}
      </QueryState>
      {capabilities.history && <MyHistory />}
    </section>
  );
}

function MyHistory() {
  const range = useMemo(() => lastDays(90), []);
  const [result] = useQuery({ query: MySpendHistoryDocument, variables: range });
  const series = result.data?.viewer?.chatSpendHistory;
  return (
    <>
      <h2>Your daily spend, last 90 days</h2>
      <QueryState fetching={result.fetching} error={result.error} hasData={series !== undefined}>
        {() => series && <SpendChart series={series} title="Your daily spend, last 90 days" />}
      </QueryState>
    </>
  );
}
