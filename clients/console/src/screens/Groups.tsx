// Groups: every group with its member count and override; OWNERs set or remove overrides inline.
import { useState } from "react";
import { useClient, useQuery } from "urql";

import { OverrideEditor, firstError } from "../components/OverrideEditor";
import { QueryState } from "../components/QueryState";
import { ConsoleGroupsDocument, ConsoleRemoveGroupOverrideDocument, ConsoleSetGroupOverrideDocument } from "../gql/graphql";
import { useSession } from "../lib/session-context";

const PAGE_SIZE = 50;

export function Groups() {
  const { readOnly } = useSession();
  const client = useClient();
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [result, reexecute] = useQuery({
    query: ConsoleGroupsDocument,
    variables: { first: PAGE_SIZE, after: cursors[cursors.length - 1] ?? null },
  });
  const groups = result.data?.groups;
  const refresh = () => reexecute({ requestPolicy: "network-only" });

  async function setOverride(groupId: string, micros: number): Promise<string | null> {
    const outcome = await client.mutation(ConsoleSetGroupOverrideDocument, { groupId, spendLimitMicros: micros }).toPromise();
    const error = firstError(outcome, outcome.data?.upsertChatUsageLimitGroupOverride);
    if (error === null) refresh();
    return error;
  }

  async function removeOverride(groupId: string): Promise<string | null> {
    const outcome = await client.mutation(ConsoleRemoveGroupOverrideDocument, { groupId }).toPromise();
    const error = firstError(outcome, outcome.data?.deleteChatUsageLimitGroupOverride);
    if (error === null) refresh();
    return error;
  }

  return (
    <section aria-labelledby="groups-title">
      <h1 id="groups-title">Groups</h1>
      <p className="help">
        A user without an override of their own gets the lowest override among their groups; the Everyone group of an
        organization holds all its members.
      </p>
      <QueryState fetching={result.fetching} error={result.error} hasData={groups !== undefined}>
        {() =>
          groups && (
            <>
              <table className="cards">
                <thead>
                  <tr>
                    <th scope="col">Group</th>
                    <th scope="col">Organization</th>
                    <th scope="col">Members</th>
                    <th scope="col">Override</th>
                  </tr>
                </thead>
                <tbody>
                  {groups.nodes.map((group) => (
                    <tr key={group.id} data-group={`${group.organization.name}/${group.name}`}>
                      <th scope="row" data-label="Group">
                        {group.displayName || group.name}
                        <span className="sub">{group.isEveryone ? "everyone in the organization" : group.name}</span>
                      </th>
                      <td data-label="Organization">{group.organization.displayName || group.organization.name}</td>
                      <td data-label="Members" className="members">
                        {group.memberCount}
                      </td>
                      <td data-label="Override">
                        <OverrideEditor
                          subject={`${group.organization.name}/${group.name}`}
                          currentMicros={group.chatSpendLimitMicros}
                          readOnly={readOnly}
                          onSet={(micros) => setOverride(group.id, micros)}
                          onRemove={() => removeOverride(group.id)}
                        />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <nav className="pager" aria-label="Pages of groups">
                <button type="button" disabled={cursors.length <= 1} onClick={() => setCursors(cursors.slice(0, -1))}>
                  Previous page
                </button>
                <button
                  type="button"
                  disabled={!groups.pageInfo.hasNextPage}
                  onClick={() => setCursors([...cursors, groups.pageInfo.endCursor])}
                >
                  Next page
                </button>
              </nav>
            </>
          )
        }
      </QueryState>
    </section>
  );
}
