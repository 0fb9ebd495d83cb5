// Users: a searchable, paginated table of users with their effective limit, its source and this
// period's spend, and an inline override editor. With the ranking API it also sorts by spend or
// share of the limit and keeps users "at or above N%".
import { useEffect, useState } from "react";
import { useClient, useQuery } from "urql";

import { OverrideEditor, firstError } from "../components/OverrideEditor";
import { QueryState } from "../components/QueryState";
import { SpendBar } from "../components/SpendBar";
import type { ChatSpendLimitSource } from "../gql/graphql";
import { ConsoleRemoveUserOverrideDocument, ConsoleSetUserOverrideDocument, ConsoleUsersDocument } from "../gql/graphql";
import { RankingDocument } from "../insight/documents";
import type { ChatSpendRankingOrder } from "../insight/types";
import { formatLimit } from "../lib/money";
import { sourceLabel } from "../lib/labels";
import { href, navigate } from "../lib/router";
import { useSession } from "../lib/session-context";

export const PAGE_SIZE = 20;

type Sort = "NAME" | ChatSpendRankingOrder;

interface Row {
  id: string;
  username: string;
  name: string;
  overrideMicros: number | null;
  limitMicros: number | null;
  source: ChatSpendLimitSource;
  group: { displayName: string; name: string } | null;
  spendMicros: number;
}

interface Page {
  rows: Row[];
  totalCount: number;
  endCursor: string | null;
  hasNextPage: boolean;
}

export function Users() {
  const { capabilities } = useSession();
  const [search, setSearch] = useState("");
  const [debounced, setDebounced] = useState("");
  const [sort, setSort] = useState<Sort>("NAME");
  const [minPercent, setMinPercent] = useState("");
  const [cursors, setCursors] = useState<(string | null)[]>([null]);

  useEffect(() => {
    const timer = window.setTimeout(() => setDebounced(search.trim()), 250);
    return () => window.clearTimeout(timer);
  }, [search]);
  useEffect(() => setCursors([null]), [debounced, sort, minPercent]);

  const percent = minPercent.trim() === "" ? null : Number(minPercent);
  const percentError = percent !== null && (!Number.isFinite(percent) || percent < 0) ? "Enter a percent of 0 or more." : null;
  const ranked = capabilities.ranking && (sort !== "NAME" || (percent !== null && percentError === null));
  const after = cursors[cursors.length - 1] ?? null;

  return (
    <section aria-labelledby="users-title">
      <h1 id="users-title">Users</h1>
      <div className="filters">
        <div className="field">
          <label htmlFor="user-search">Search users</label>
          <input
            id="user-search"
            type="search"
            value={search}
            placeholder="username, name or email"
            disabled={ranked}
            aria-describedby={ranked ? "search-ranked" : undefined}
            onChange={(event) => setSearch(event.target.value)}
          />
          {ranked && (
            <p id="search-ranked" className="help">
              The ranking lists everyone: sort by username and clear the percent to search.
            </p>
          )}
        </div>
        {capabilities.ranking && (
          <>
            <div className="field">
              <label htmlFor="user-sort">Sort by</label>
              <select id="user-sort" value={sort} onChange={(event) => setSort(event.target.value as Sort)}>
                <option value="NAME">Username</option>
                <option value="SPEND_DESC">Spend, highest first</option>
                <option value="SHARE_OF_LIMIT_DESC">Share of limit, highest first</option>
              </select>
            </div>
            <div className="field">
              <label htmlFor="min-share">At or above (% of limit)</label>
              <input
                id="min-share"
                inputMode="numeric"
                value={minPercent}
                placeholder="e.g. 80"
                aria-invalid={percentError ? true : undefined}
                onChange={(event) => setMinPercent(event.target.value)}
              />
              {percentError && (
                <p role="alert" className="error">
                  {percentError}
                </p>
              )}
            </div>
          </>
        )}
      </div>
      {ranked ? (
        <RankedTable order={sort === "NAME" ? "SHARE_OF_LIMIT_DESC" : sort} minShare={percentError ? null : percent === null ? null : percent / 100} after={after} cursors={cursors} setCursors={setCursors} />
      ) : (
        <SearchTable search={debounced} after={after} cursors={cursors} setCursors={setCursors} />
      )}
    </section>
  );
}

interface Paging {
  after: string | null;
  cursors: (string | null)[];
  setCursors: (cursors: (string | null)[]) => void;
}

/** urql keeps the last page's data while the next one loads: show it only for the variables asked. */
function current<Data>(result: { data?: Data; operation?: { variables: unknown } }, variables: object): Data | undefined {
  return JSON.stringify(result.operation?.variables) === JSON.stringify(variables) ? result.data : undefined;
}

function SearchTable(props: { search: string } & Paging) {
  const variables = { first: PAGE_SIZE, after: props.after, search: props.search || null };
  const [result, reexecute] = useQuery({ query: ConsoleUsersDocument, variables });
  const users = current(result, variables)?.users;
  const page: Page | undefined = users && {
    totalCount: users.totalCount,
    endCursor: users.pageInfo.endCursor,
    hasNextPage: users.pageInfo.hasNextPage,
    rows: users.nodes.map((user) => ({
      id: user.id,
      username: user.username,
      name: user.name,
      overrideMicros: user.chatSpendLimitMicros,
      limitMicros: user.effectiveChatSpendLimit.limitMicros,
      source: user.effectiveChatSpendLimit.source,
      group: user.effectiveChatSpendLimit.group,
      spendMicros: user.chatUsageLimitStatus.currentSpendMicros,
    })),
  };
  return (
    <QueryState fetching={result.fetching} error={result.error} hasData={page !== undefined}>
      {() => page && <UserTable page={page} refresh={() => reexecute({ requestPolicy: "network-only" })} {...props} />}
    </QueryState>
  );
}

function RankedTable(props: { order: ChatSpendRankingOrder; minShare: number | null } & Paging) {
  const variables = { orderBy: props.order, minShareOfLimit: props.minShare, first: PAGE_SIZE, after: props.after };
  const [result, reexecute] = useQuery({ query: RankingDocument, variables });
  const ranking = current(result, variables)?.chatSpendRanking;
  const page: Page | undefined = ranking && {
    totalCount: ranking.totalCount,
    endCursor: ranking.pageInfo.endCursor,
    hasNextPage: ranking.pageInfo.hasNextPage,
    rows: ranking.nodes.map(({ user, status }) => ({
      id: user.id,
      username: user.username,
      name: user.name,
      overrideMicros: user.chatSpendLimitMicros,
      limitMicros: user.effectiveChatSpendLimit.limitMicros,
      source: user.effectiveChatSpendLimit.source,
      group: user.effectiveChatSpendLimit.group,
      spendMicros: status.currentSpendMicros,
    })),
  };
  return (
    <QueryState fetching={result.fetching} error={result.error} hasData={page !== undefined}>
      {() => page && <UserTable page={page} refresh={() => reexecute({ requestPolicy: "network-only" })} {...props} />}
    </QueryState>
  );
}

function UserTable(props: { page: Page; refresh: () => void } & Paging) {
  const { readOnly, thresholds } = useSession();
  const client = useClient();
  const { page, cursors, setCursors } = props;
  const first = (cursors.length - 1) * PAGE_SIZE + 1;

  async function setOverride(userId: string, micros: number): Promise<string | null> {
    const result = await client.mutation(ConsoleSetUserOverrideDocument, { userId, spendLimitMicros: micros }).toPromise();
    const error = firstError(result, result.data?.upsertChatUsageLimitOverride);
    if (error === null) props.refresh();
    return error;
  }

  async function removeOverride(userId: string): Promise<string | null> {
    const result = await client.mutation(ConsoleRemoveUserOverrideDocument, { userId }).toPromise();
    const error = firstError(result, result.data?.deleteChatUsageLimitOverride);
    if (error === null) props.refresh();
    return error;
  }

  return (
    <>
      <p className="count" aria-live="polite">
        {page.totalCount === 0
          ? "No users match."
          : `Users ${first}–${first + page.rows.length - 1} of ${page.totalCount}`}
      </p>
      <table className="cards">
        <thead>
          <tr>
            <th scope="col">User</th>
            <th scope="col">Limit</th>
            <th scope="col">Source</th>
            <th scope="col">Spend this period</th>
            <th scope="col">Override</th>
          </tr>
        </thead>
        <tbody>
          {page.rows.map((row) => (
            <tr key={row.id} data-username={row.username}>
              <th scope="row" data-label="User">
                <a
                  href={href({ screen: "user", id: row.id })}
                  onClick={(event) => {
                    event.preventDefault();
                    navigate({ screen: "user", id: row.id });
                  }}
                >
                  {row.username}
                </a>
                <span className="sub">{row.name}</span>
              </th>
              <td data-label="Limit" className="limit">
                {formatLimit(row.limitMicros)}
              </td>
              <td data-label="Source" className="source">
                {sourceLabel(row.source, row.group)}
              </td>
              <td data-label="Spend">
                <SpendBar spendMicros={row.spendMicros} limitMicros={row.limitMicros} thresholds={thresholds} />
              </td>
              <td data-label="Override">
                <OverrideEditor
                  subject={row.username}
                  currentMicros={row.overrideMicros}
                  readOnly={readOnly}
                  onSet={(micros) => setOverride(row.id, micros)}
                  onRemove={() => removeOverride(row.id)}
                />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <nav className="pager" aria-label="Pages of users">
        <button type="button" disabled={cursors.length <= 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          Previous page
        </button>
        <button type="button" disabled={!page.hasNextPage} onClick={() => setCursors([...cursors, page.endCursor])}>
          Next page
        </button>
      </nav>
    </>
  );
}
