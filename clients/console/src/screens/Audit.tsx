// The audit log: every committed change of the configuration and overrides, newest first.
import { useState } from "react";
import { useQuery } from "urql";

import { QueryState } from "../components/QueryState";
import { ChangesDocument } from "../insight/documents";
import type { ChatUsageLimitChangeKind, LimitChange } from "../insight/types";
import { formatLimit } from "../lib/money";
import { formatUtc } from "../lib/time";

const KINDS: Record<ChatUsageLimitChangeKind, string> = {
  CONFIG: "Configuration",
  USER_OVERRIDE: "User override",
  GROUP_OVERRIDE: "Group override",
};

export function Audit() {
  const [kind, setKind] = useState<ChatUsageLimitChangeKind | "">("");
  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit log</h1>
      <div className="filters">
        <div className="field">
          <label htmlFor="audit-kind">Show</label>
          <select id="audit-kind" value={kind} onChange={(event) => setKind(event.target.value as ChatUsageLimitChangeKind | "")}>
            <option value="">Every change</option>
            {(Object.keys(KINDS) as ChatUsageLimitChangeKind[]).map((value) => (
              <option key={value} value={value}>
                {KINDS[value]}
              </option>
            ))}
          </select>
        </div>
      </div>
      <ChangeList kind={kind === "" ? null : kind} userId={null} />
    </section>
  );
}

export function ChangeList(props: { kind: ChatUsageLimitChangeKind | null; userId: string | null }) {
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [result] = useQuery({
    query: ChangesDocument,
    variables: { kind: props.kind, userId: props.userId, first: 50, after: cursors[cursors.length - 1] ?? null },
  });
  const changes = result.data?.chatUsageLimitChanges;
  return (
    <QueryState fetching={result.fetching} error={result.error} hasData={changes !== undefined}>
      {() =>
        changes &&
        (changes.nodes.length === 0 ? (
          <p>No changes recorded.</p>
        ) : (
          <>
            <table className="cards audit">
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">What</th>
                  <th scope="col">By</th>
                  <th scope="col">Change</th>
                </tr>
              </thead>
              <tbody>
                {changes.nodes.map((change) => (
                  <tr key={change.id} data-kind={change.kind}>
                    <td data-label="When">{formatUtc(change.at)}</td>
                    <td data-label="What">{subject(change)}</td>
                    <td data-label="By">{change.actor?.username ?? (change.actorService ? `service ${change.actorService.toLowerCase()}` : "command line")}</td>
                    <td data-label="Change" className="change">
                      {describe(change)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <nav className="pager" aria-label="Pages of changes">
              <button type="button" disabled={cursors.length <= 1} onClick={() => setCursors(cursors.slice(0, -1))}>
                Newer
              </button>
              <button type="button" disabled={!changes.pageInfo.hasNextPage} onClick={() => setCursors([...cursors, changes.pageInfo.endCursor])}>
                Older
              </button>
            </nav>
          </>
        ))
      }
    </QueryState>
  );
}

function subject(change: LimitChange): string {
  switch (change.kind) {
    case "CONFIG":
      return "Configuration";
    case "USER_OVERRIDE":
      return `Override of ${change.user?.username ?? "a user"}`;
    case "GROUP_OVERRIDE":
      return `Override of group ${change.group?.displayName || change.group?.name || "?"}`;
  }
}

function describe(change: LimitChange): string {
  const parts = [`${formatLimit(change.oldSpendLimitMicros, "none")} → ${formatLimit(change.newSpendLimitMicros, "none")}`];
  if (change.kind === "CONFIG") {
    if (change.oldEnabled !== change.newEnabled) parts.push(`limits ${change.newEnabled ? "on" : "off"}`);
    if (change.oldPeriod !== change.newPeriod && change.newPeriod) parts.push(`period ${change.newPeriod.toLowerCase()}`);
  }
  return parts.join(", ");
}
