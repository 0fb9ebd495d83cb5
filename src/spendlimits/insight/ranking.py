"""Users ranked by spend, or by share of their effective limit, in the period that contains an
instant; deleted users left out, optionally only one organization's members.

The ranking key is the status's own: ``currentSpendMicros`` (0 while limits are disabled; scoped
to the organization only when a group limit of it wins) and its share of ``spendLimitMicros``.
Nothing about the hierarchy or the spend scope is restated here: exact keys come from the status
statement (``status.statuses``), limits in the share filter's statement from ``spendlimits_resolve``
(with its scope), or, in the general statement, from ``spendlimits_statuses``, the SQL function the
status statement calls (migration 000003); both functions resolve through ``spendlimits_resolve``.

Resolving every user is what makes a ranking slow (about 1.3 s for 100k users), and so is summing
one period of the rollup for every user (0.1-0.4 s at 1M messages), so the fast paths read the
per-user period totals (migrations 000008 and 000012) through an exact **threshold scan**. Since
000012 a user's total in a period has two parts: their one folded row
(``chat_spend_period_totals_folded``, one row per period kind, period start and user, kept by the
folder ``spendlimits_fold_spend_journal``) and their rows not yet folded (``chat_spend_unfolded``,
migration 000014: the messages the last fold did not see and the journal's corrections, signed
deltas per day, negative for a lowered cost or a deleted message). The scan reads folded rows of
the period by spend, highest first, from an index, and counts as seen every user it read and every
user with unfolded rows in the period (one pass over them, which the folder keeps to about one
fold interval of writes); every user seen gets their exact total (folded row plus unfolded
deltas). A user not seen has no unfolded row in the period, so their total is their folded row,
which is at most the lowest row read (``edge``): that is the bound. Ranks whose key beats it are
final; otherwise the scan reads four times as many rows. The users with unfolded rows have to be
seen, not bounded: a folded row says nothing of the deltas waiting to be added to it. Exactness
never depends on the fold having run (one statement reads both parts in one snapshot, and a fold
moves rows from one to the other in one transaction); only how much is unfolded, and so the cost
of reading it, does. Three ways:

- **by spend**, over all organizations, without a share filter: a user's key is their whole
  spend in the period (0 for everyone while limits are off), so the page comes from the scan
  alone, no resolution; the live users are counted by the count table of migration 000007. A page
  that reaches users who spent nothing lists them by username, as the general statement does.
- **pruned** (every other request, while limits are on): a user's whole spend in the period is an
  upper bound of their key (scoped spend never exceeds it), and spend / the lowest limit anyone
  can have is an upper bound of their share. Candidates come from the scan, highest spend first,
  and only those it vouches for are resolved, exactly, until the page's last key beats every bound
  left. With a share filter, every passing user is needed (for totalCount), so one statement
  (``_FILTERED``) does it all: its candidates are the users whose folded row reaches the filter's
  share of the lowest limit (a range of the same index: the candidates themselves, not every
  user) and the users with unfolded rows in the period (whose deltas may lift them over it), each
  counted once; it keeps those whose exact whole spend reaches that share, resolves them in one
  ``spendlimits_resolve`` call (set-based since migration 000010) and returns the live ones whose
  whole spend reaches the share of their own limit. A user whose limit is not scoped to an
  organization (``scope_organization_id``, from the resolution) is decided by that alone, since
  their status's spend is their whole spend; only users with a scoped limit get a status.
  Typically a few hundred statuses instead of 100k.
- **general**: one statement that resolves every candidate and orders, filters, counts and pages
  in SQL. The fallback whenever pruning cannot decide (the page reaches users whose key is 0, too
  many candidates, limits off), and the oracle the tests compare the other two with.
"""

import enum
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from spendlimits.directory.pages import Page
from spendlimits.limits.periods import all_period_bounds
from spendlimits.limits.spend import rollup_day
from spendlimits.limits.status import Status, statuses

#: Candidates resolved per round of the pruned ranking, at least (a round is two statements).
#: Spend is skewed in practice, so the first round nearly always decides a first page.
CHUNK = 200
#: A share filter whose candidates outnumber this is left to the general statement.
MAX_FILTER_CANDIDATES = 20_000


class RankingOrder(enum.Enum):
    SPEND_DESC = "spend_desc"
    #: Unlimited users last.
    SHARE_OF_LIMIT_DESC = "share_of_limit_desc"


@dataclass(frozen=True, slots=True)
class Ranked:
    user_id: uuid.UUID
    spend_micros: int
    #: spend / limit; None when unlimited.
    share_of_limit: float | None


def _windows(at: datetime) -> dict[str, Any]:
    bounds = all_period_bounds(at)
    return {
        "periods": [p.value for p in bounds],
        "first_days": [rollup_day(b[0]) for b in bounds.values()],
        "end_days": [rollup_day(b[1]) for b in bounds.values()],
    }


_PERIODS = """
periods AS (
    SELECT * FROM unnest(CAST(:periods AS text[]), CAST(:first_days AS date[]), CAST(:end_days AS date[]))
        AS p(period, first_day, end_day)
)"""

_ORDER = {
    RankingOrder.SPEND_DESC: "spend_micros DESC, username, user_id",
    RankingOrder.SHARE_OF_LIMIT_DESC: "share_of_limit DESC NULLS LAST, spend_micros DESC, username, user_id",
}


def _general(order: RankingOrder) -> Any:
    # The keys are every candidate user; spendlimits_statuses (migration 000003, the one home of
    # the hierarchy, its scope and the spend rule) answers them all in one call. Each key gets the
    # three candidate periods; the function keeps the configured one.
    return text(
        f"""
        WITH {_PERIODS},
        keys AS (
            SELECT array_agg(u.id ORDER BY u.id) AS user_ids,
                   array_agg(CAST(:organization_id AS uuid)) AS organization_ids,
                   count(*) AS n
            FROM users u
            WHERE NOT u.deleted
              AND (CAST(:organization_id AS uuid) IS NULL OR EXISTS (
                  SELECT 1 FROM organization_members om
                  WHERE om.organization_id = CAST(:organization_id AS uuid) AND om.user_id = u.id))
        ),
        windows AS (
            SELECT array_agg(i ORDER BY i, p.period) AS idxs,
                   array_agg(p.period ORDER BY i, p.period) AS periods,
                   array_agg(p.first_day ORDER BY i, p.period) AS first_days,
                   array_agg(p.end_day ORDER BY i, p.period) AS end_days
            FROM keys k CROSS JOIN generate_series(1, k.n) AS i CROSS JOIN periods p
        ),
        ranked AS (
            SELECT s.user_id, u.username, s.spend_micros,
                   CASE WHEN s.limit_micros > 0 THEN s.spend_micros::float8 / s.limit_micros END AS share_of_limit
            FROM keys k CROSS JOIN windows w
            CROSS JOIN LATERAL spendlimits_statuses(
                k.user_ids, k.organization_ids, w.idxs, w.periods, w.first_days, w.end_days,
                CAST(:at AS timestamptz)) s
            JOIN users u ON u.id = s.user_id
        ),
        kept AS (
            SELECT * FROM ranked
            WHERE CAST(:min_share AS float8) IS NULL OR share_of_limit >= CAST(:min_share AS float8)
        )
        SELECT total.total, page.*
        FROM (SELECT count(*) AS total FROM kept) total
        LEFT JOIN LATERAL (
            SELECT user_id, spend_micros, share_of_limit FROM kept
            ORDER BY {_ORDER[order]}
            LIMIT :limit OFFSET :offset
        ) page ON true
        """
    )


_GENERAL = {order: _general(order) for order in RankingOrder}

# What every fast path reads first: the configuration, the configured period's first day (the key
# of the period totals) and end day (unfolded rows are per day: those of [first, end) count),
# the number of live users (of the organization) and, for the pruned path, the lowest limit anyone
# can have: the default, a live user's own override or a group's override (whichever wins for a
# user, it is one of these; taken over everyone, also for an organization's ranking: a lower bound
# still, read from one index probe). Live users are counted by the count table of migration 000007;
# an organization's, as its members less its deleted ones (few, through a partial index), not over
# every member's user row.
_META = text(
    f"""
    WITH config AS (SELECT enabled, default_limit_micros, period FROM chat_usage_limit_config),
    {_PERIODS}
    SELECT c.enabled, c.period, p.first_day, p.end_day,
           CASE WHEN CAST(:organization_id AS uuid) IS NULL
                THEN (SELECT n FROM directory_counts WHERE name = 'users')
                ELSE (SELECT count(*) FROM organization_members om
                      WHERE om.organization_id = CAST(:organization_id AS uuid))
                   - (SELECT count(*) FROM users u JOIN organization_members om
                        ON om.organization_id = CAST(:organization_id AS uuid) AND om.user_id = u.id
                      WHERE u.deleted)
           END AS live_count,
           CASE WHEN CAST(:with_lowest AS boolean) THEN least(
               c.default_limit_micros,
               (SELECT min(u.chat_spend_limit_micros) FROM users u
                WHERE NOT u.deleted AND u.chat_spend_limit_micros IS NOT NULL),
               (SELECT min(chat_spend_limit_micros) FROM groups))
           END AS lowest_limit
    FROM config c JOIN periods p ON p.period = c.period
    """
)


# A user's unfolded rows in the period, summed: one pass over everyone's (the messages past the
# last fold, through their transaction ids' index, and the journal's corrections; the folder keeps
# both short). Materialized: read once.
_UNFOLDED = """
    unfolded AS MATERIALIZED (
        SELECT j.user_id, sum(j.delta_micros)::bigint AS delta_micros
        FROM chat_spend_unfolded j
        WHERE j.day >= CAST(:first_day AS date) AND j.day < CAST(:end_day AS date)
        GROUP BY j.user_id
    )"""

# A folded total by primary key, for a user not read from the index (0 when they have none).
_FOLDED_OF = """
    coalesce((SELECT f.spend_micros FROM chat_spend_period_totals_folded f
              WHERE f.period = :period AND f.period_start = :period_start AND f.user_id = {user}), 0)"""


def _top(exact: str) -> Any:
    """Live users (of the organization) with spend in the period, by their exact whole spend,
    highest first, at most ``:keep``. ``exact`` defines ``head``, the folded rows the scan read, and
    ``exact``, the users looked at with their exact totals; the statement also returns how many rows
    the scan read (``scanned``) and the lowest of them (``edge``)."""
    return text(
        f"""
        WITH {exact}
        SELECT h.scanned, h.edge, c.user_id, c.username, c.spend_micros
        FROM (SELECT count(*) AS scanned, min(spend_micros) AS edge FROM head) h
        LEFT JOIN LATERAL (
            SELECT e.user_id, u.username, e.spend_micros
            FROM exact e JOIN users u ON u.id = e.user_id
            WHERE NOT u.deleted AND e.spend_micros > 0
              AND (CAST(:organization_id AS uuid) IS NULL OR EXISTS (
                  SELECT 1 FROM organization_members om
                  WHERE om.organization_id = CAST(:organization_id AS uuid) AND om.user_id = u.id))
            ORDER BY e.spend_micros DESC, u.username, u.id
            LIMIT :keep
        ) c ON true
        """
    )


# The threshold scan: the period's folded rows from the top of the index, highest first (one per
# user, so the row read is the user's folded total), and every user with unfolded rows in the
# period. A user in both is one row of the full join, their folded row plus their deltas; an unfolded
# user below the scan gets their folded row by primary key (one probe each, only for them). Such a
# user whose total ends up at most the edge is left out: the bound (the edge) covers them as it
# covers the users not seen, and the unfolded rows' users, most of them below any page, are not each
# looked up in users and returned for nothing. Not once the scan read every row: the bound is 0.
_TOP_OF_PERIOD = _top(
    f"""{_UNFOLDED},
    head AS MATERIALIZED (
        SELECT t.user_id, t.spend_micros FROM chat_spend_period_totals_folded t
        WHERE t.period = :period AND t.period_start = :period_start
        ORDER BY t.spend_micros DESC
        LIMIT :scan
    ),
    exact AS MATERIALIZED (
        SELECT x.user_id, x.spend_micros FROM (
            SELECT coalesce(h.user_id, j.user_id) AS user_id, h.user_id IS NOT NULL AS read,
                   coalesce(h.spend_micros, {_FOLDED_OF.format(user="j.user_id")})
                   + coalesce(j.delta_micros, 0) AS spend_micros
            FROM head h FULL JOIN unfolded j ON j.user_id = h.user_id
        ) x
        WHERE x.read
           OR x.spend_micros > (SELECT min(spend_micros) FROM head)
           OR (SELECT count(*) FROM head) < :scan
    )"""
)
# A small organization's members with spend in the period and their exact totals: every member's
# rows, folded and not, through the view (cheaper than scanning the whole period for them).
_MEMBERS_TOTALS = """
        SELECT t.user_id, sum(t.spend_micros)::bigint AS spend_micros
        FROM organization_members om
        JOIN chat_spend_period_totals t ON t.user_id = om.user_id
        WHERE om.organization_id = CAST(:organization_id AS uuid)
          AND t.period = :period AND t.period_start = :period_start
        GROUP BY t.user_id"""

# A small organization: nothing is bounded, so there is no head.
_TOP_OF_MEMBERS = _top(
    f"""
    head AS (SELECT NULL::bigint AS spend_micros WHERE false),
    exact AS MATERIALIZED ({_MEMBERS_TOTALS})"""
)


def _filtered(spend: str) -> Any:
    """The share filter's candidates and their own limits, in one statement. ``spend`` gives every
    user whose whole spend in the period reaches ``:min_spend`` (with that spend); those of them in
    the organization (if one is given) are the candidates, at most ``:keep``. If there are at most
    ``:cap``, spendlimits_resolve (migration 000010, the hierarchy's one home) resolves them all in
    one call, and the live ones whose whole spend reaches ``:min_share`` of their own limit come
    back, with the limit and its scope; ``candidates`` says how many there were (one row with no
    user when none passes). Deleted users are dropped last, with the username read for the few
    that pass, rather than by looking up every candidate's user row twice."""
    return text(
        f"""
        WITH candidates AS MATERIALIZED (
            SELECT e.user_id, e.spend_micros
            FROM ({spend}) e
            WHERE CAST(:organization_id AS uuid) IS NULL OR EXISTS (
                SELECT 1 FROM organization_members om
                WHERE om.organization_id = CAST(:organization_id AS uuid) AND om.user_id = e.user_id)
            LIMIT :keep
        ),
        keys AS (
            SELECT array_agg(user_id) AS user_ids, array_agg(CAST(:organization_id AS uuid)) AS organization_ids
            FROM candidates
            HAVING count(*) <= :cap
        )
        SELECT n.candidates, p.*
        FROM (SELECT count(*) AS candidates FROM candidates) n
        LEFT JOIN LATERAL (
            SELECT c.user_id, u.username, c.spend_micros, r.limit_micros, r.scope_organization_id
            FROM keys k
            CROSS JOIN LATERAL spendlimits_resolve(k.user_ids, k.organization_ids) r
            JOIN candidates c ON c.user_id = r.user_id
            JOIN users u ON u.id = r.user_id
            -- The share as the status's key divides it (float8, as _passes and the general
            -- statement do).
            WHERE r.limit_micros > 0
              AND c.spend_micros::float8 / r.limit_micros >= CAST(:min_share AS float8)
              AND NOT u.deleted
        ) p ON true
        """
    )


# Who can reach :min_spend: a user without unfolded rows in the period has exactly their folded
# row, so only those whose row reaches it (a range of the top index, read from its top down to
# :min_spend: the candidates, not every user of the period); a user with unfolded rows may be lifted
# over it (or taken under it) by their deltas, so every one of them is looked at, once: the full
# join gives a user in both sets one row, their folded row plus their deltas.
_FILTERED = _filtered(
    f"""
    WITH {_UNFOLDED}
    SELECT x.user_id, x.spend_micros FROM (
        SELECT coalesce(h.user_id, j.user_id) AS user_id,
               coalesce(h.spend_micros, {_FOLDED_OF.format(user="j.user_id")})
               + coalesce(j.delta_micros, 0) AS spend_micros
        FROM (
            SELECT t.user_id, t.spend_micros FROM chat_spend_period_totals_folded t
            WHERE t.period = :period AND t.period_start = :period_start
              AND t.spend_micros >= CAST(:min_spend AS bigint)
        ) h
        FULL JOIN unfolded j ON j.user_id = h.user_id
    ) x
    WHERE x.spend_micros >= CAST(:min_spend AS bigint)
    """
)
# A small organization: its members' totals.
_FILTERED_MEMBERS = _filtered(
    f"""{_MEMBERS_TOTALS}
    HAVING sum(t.spend_micros) >= CAST(:min_spend AS numeric)
    """
)


# Live users who spent nothing in the period (or are not in ``:spenders``), as the general
# statement orders users whose key is 0: by username, then id.
_NON_SPENDERS = text(
    """
    SELECT u.id AS user_id FROM users u
    WHERE NOT u.deleted AND u.id <> ALL(CAST(:spenders AS uuid[]))
    ORDER BY u.username, u.id
    LIMIT :limit OFFSET :offset
    """
)


@dataclass(frozen=True, slots=True)
class _Meta:
    enabled: bool
    period: str
    period_start: date
    #: The day after the period (exclusive), for the unfolded rows' days.
    end_day: date
    live_count: int
    lowest_limit: int | None


async def _meta(
    conn: AsyncConnection, at: datetime, organization_id: uuid.UUID | None, *, with_lowest: bool
) -> _Meta:
    params = _windows(at) | {"organization_id": organization_id, "with_lowest": with_lowest}
    row = (await conn.execute(_META, params)).one()
    return _Meta(row.enabled, row.period, row.first_day, row.end_day, int(row.live_count), row.lowest_limit)


@dataclass(frozen=True, slots=True)
class _Spender:
    user_id: uuid.UUID
    username: str
    spend_micros: int


@dataclass(frozen=True, slots=True)
class _Top:
    """Spenders by exact whole spend, highest first (ties by username, then id), the first ``keep``
    of those seen; ``more`` when others seen were left out (they rank after these). Every user not
    seen spent at most ``bound``: they have no unfolded row in the period (those are all seen), so
    their spend is their one folded row, which the scan did not pick: at most the lowest it picked,
    ``edge`` (unfolded rows' users whose exact spend came out at most the edge are left out too); 0 once
    every row was picked (``exhausted``)."""

    spenders: list[_Spender]
    more: bool
    exhausted: bool
    bound: int


#: Folded rows read by the first round of the threshold scan: SCAN_ROWS, or SCAN_PER_RANK per rank
#: up to the page's end if more; each further round reads four times as many. Skewed spend makes
#: the first round enough for a first page. A row is a user since migration 000012 (no slots), so
#: a rank needs one row; two per rank leave the page's last key room to be strictly above the edge
#: (a key equal to the bound ties with a user not seen and is not final), and cover page users that
#: negative unfolded deltas move down.
SCAN_ROWS = 1024
SCAN_PER_RANK = 2
#: An organization with at most this many live members is ranked from its members' rows.
SMALL_ORGANIZATION = 2_000


async def _spenders(
    conn: AsyncConnection,
    meta: _Meta,
    organization_id: uuid.UUID | None,
    *,
    scan: int,
    keep: int,
) -> _Top:
    """The top of the period: exact totals of the users of the first ``scan`` folded rows and of
    the users with unfolded rows in the period."""
    params: dict[str, Any] = {
        "period": meta.period,
        "period_start": meta.period_start,
        "first_day": meta.period_start,
        "end_day": meta.end_day,
        "organization_id": organization_id,
        "keep": keep,
    }
    small = organization_id is not None and meta.live_count <= SMALL_ORGANIZATION
    if small:
        rows = (await conn.execute(_TOP_OF_MEMBERS, params)).all()
    else:
        rows = (await conn.execute(_TOP_OF_PERIOD, params | {"scan": scan})).all()
    spenders = [_Spender(r.user_id, r.username, r.spend_micros) for r in rows if r.user_id is not None]
    exhausted = small or rows[0].scanned < scan
    bound = 0 if exhausted else int(rows[0].edge)
    return _Top(spenders, len(spenders) >= keep, exhausted, bound)


async def _by_spend(conn: AsyncConnection, at: datetime, limit: int, offset: int) -> Page[Ranked]:
    """Every live user by whole spend in the period (0 while limits are off), from the threshold
    scan: the page is final once its last key beats every bound left."""
    meta = await _meta(conn, at, None, with_lowest=False)
    wanted = offset + limit
    spenders: list[_Spender] = []
    scan = max(SCAN_ROWS, SCAN_PER_RANK * wanted)
    while meta.enabled and limit > 0:
        top = await _spenders(conn, meta, None, scan=scan, keep=wanted)
        spenders = top.spenders
        if len(spenders) >= wanted and spenders[wanted - 1].spend_micros > top.bound:
            break
        if top.exhausted:
            break  # every spender is known; the page may reach those who spent nothing
        scan *= 4
    page = [Ranked(s.user_id, s.spend_micros, None) for s in spenders[offset:wanted]]
    if len(page) < limit:
        rows = await conn.execute(
            _NON_SPENDERS,
            {
                "spenders": [s.user_id for s in spenders],
                "limit": limit - len(page),
                "offset": max(offset - len(spenders), 0),
            },
        )
        page += [Ranked(r.user_id, 0, None) for r in rows]
    return Page(page, meta.live_count)


class _Undecided(Exception):
    """Pruning cannot decide this page; the general statement answers it."""


def _key(order: RankingOrder, status: Status) -> float:
    """The ranking key of an exact status, higher first (pruning runs only while limits are on,
    so every status has a limit)."""
    if order is RankingOrder.SPEND_DESC:
        return float(status.spend_micros)
    limit = status.limit.limit_micros
    return status.spend_micros / limit if limit else 0.0


def _passes(status: Status, min_share: float | None) -> bool:
    if min_share is None:
        return True
    limit = status.limit.limit_micros
    return limit is not None and limit > 0 and status.spend_micros / limit >= min_share


async def _pruned(
    conn: AsyncConnection,
    order: RankingOrder,
    organization_id: uuid.UUID | None,
    min_share: float | None,
    at: datetime,
    limit: int,
    offset: int,
) -> Page[Ranked]:
    """The page from the candidates with the highest bounds; raises _Undecided when it cannot tell."""
    if min_share is not None and min_share <= 0:
        raise _Undecided  # every limited user passes: nothing to prune
    meta = await _meta(conn, at, organization_id, with_lowest=True)
    if not meta.enabled or not meta.lowest_limit:
        raise _Undecided
    if min_share is not None:
        return await _share_filtered(conn, meta, order, organization_id, min_share, at, limit, offset)

    wanted = offset + limit
    chunk = max(CHUNK, 2 * wanted)
    scan = max(SCAN_ROWS, SCAN_PER_RANK * chunk)
    resolved: dict[uuid.UUID, Status] = {}
    names: dict[uuid.UUID, str] = {}
    while True:
        top = await _spenders(conn, meta, organization_id, scan=scan, keep=scan)
        pending = [c for c in top.spenders if c.user_id not in resolved]
        # Only candidates above the scan's bound are resolved: those below it may still be passed
        # by users not seen, so resolving them cannot lower the bound; a deeper scan can.
        batch = [c for c in pending[:chunk] if c.spend_micros > top.bound]
        rest = pending[len(batch) :]
        names.update((c.user_id, c.username) for c in batch)
        found = await statuses(conn, [(c.user_id, organization_id, at) for c in batch], now=at)
        resolved.update({key[0]: value for key, value in found.items()})
        kept = list(resolved.items())
        keys = sorted((_key(order, st) for _, st in kept), reverse=True)
        # Every user not yet resolved spent at most the next candidate's spend, the last one's if
        # some were left out, or the scan's bound.
        left_out = top.spenders[-1].spend_micros if top.more else 0
        bound = float(max(rest[0].spend_micros if rest else 0, left_out, top.bound))
        if order is RankingOrder.SHARE_OF_LIMIT_DESC:
            bound /= float(meta.lowest_limit)
        if len(keys) >= wanted and keys[wanted - 1] > bound and keys[wanted - 1] > 0:
            return Page(_ordered(order, _keyed(kept), names, offset, limit), meta.live_count)
        if top.exhausted and not top.more and not rest:
            # The page reaches users whose key is 0 (or ties with those not resolved).
            raise _Undecided
        if not rest or rest[0].spend_micros <= top.bound:
            scan *= 4  # no candidate left that this scan can vouch for


#: The share filter's candidate threshold is lowered by this fraction: a share computed in floating
#: point (spend / limit >= min_share) can hold for a spend a hair below min_share * limit, and such
#: a user must still be a candidate. It only adds users within a billionth of the threshold.
FILTER_SLACK = 1e-9


async def _share_filtered(
    conn: AsyncConnection,
    meta: _Meta,
    order: RankingOrder,
    organization_id: uuid.UUID | None,
    min_share: float,
    at: datetime,
    limit: int,
    offset: int,
) -> Page[Ranked]:
    """Every user whose share reaches ``min_share`` (all of them, for totalCount), ordered and paged;
    raises _Undecided when there are too many candidates."""
    if meta.lowest_limit is None:
        raise _Undecided
    # Only users whose whole spend reaches the share of the lowest limit anyone has can pass
    # (scoped spend never exceeds the whole spend); spend is an integer, so the floor of the
    # threshold selects the same users.
    params = {
        "period": meta.period,
        "period_start": meta.period_start,
        "first_day": meta.period_start,
        "end_day": meta.end_day,
        "organization_id": organization_id,
        "min_spend": math.floor(min_share * meta.lowest_limit * (1 - FILTER_SLACK)),
        "min_share": min_share,
        "keep": MAX_FILTER_CANDIDATES + 1,
        "cap": MAX_FILTER_CANDIDATES,
    }
    small = organization_id is not None and meta.live_count <= SMALL_ORGANIZATION
    rows = (await conn.execute(_FILTERED_MEMBERS if small else _FILTERED, params)).all()
    if rows[0].candidates > MAX_FILTER_CANDIDATES:
        raise _Undecided
    # The statement kept the users whose whole spend reaches the share of their own limit. An
    # unscoped limit (scope_organization_id from the resolution) counts every organization: the
    # status's spend is the whole spend just summed, so that share is final without a status; a
    # scoped one needs the status's spend in its organization.
    names = {r.user_id: r.username for r in rows if r.user_id is not None}
    final = [
        (r.user_id, r.spend_micros, r.limit_micros)
        for r in rows
        if r.user_id is not None and r.scope_organization_id is None
    ]
    scoped = [r.user_id for r in rows if r.user_id is not None and r.scope_organization_id is not None]
    if scoped:
        found = await statuses(conn, [(user_id, organization_id, at) for user_id in scoped], now=at)
        final += _keyed([(key[0], st) for key, st in found.items() if _passes(st, min_share)])
    return Page(_ordered(order, final, names, offset, limit), len(final))


def _keyed(kept: list[tuple[uuid.UUID, Status]]) -> list[tuple[uuid.UUID, int, int | None]]:
    """(user, spend, limit) of exact statuses."""
    return [(user_id, st.spend_micros, st.limit.limit_micros) for user_id, st in kept]


def _ordered(
    order: RankingOrder,
    kept: list[tuple[uuid.UUID, int, int | None]],
    names: dict[uuid.UUID, str],
    offset: int,
    limit: int,
) -> list[Ranked]:
    """The page of ``kept`` (user, exact spend, limit), ties broken as the general statement breaks
    them: higher spend, then username, then id."""

    def share(spend: int, limit_micros: int | None) -> float | None:
        return spend / limit_micros if limit_micros else None

    def key(item: tuple[uuid.UUID, int, int | None]) -> tuple[float, int, str, uuid.UUID]:
        user_id, spend, limit_micros = item
        first = float(spend) if order is RankingOrder.SPEND_DESC else share(spend, limit_micros) or 0.0
        return (-first, -spend, names[user_id], user_id)

    return [
        Ranked(user_id, spend, share(spend, limit_micros))
        for user_id, spend, limit_micros in sorted(kept, key=key)[offset : offset + limit]
    ]


def uses_resolution(order: RankingOrder, organization_id: uuid.UUID | None, min_share: float | None) -> bool:
    """Whether the ranking needs candidates' limits (pruned or general) rather than spend alone."""
    return order is not RankingOrder.SPEND_DESC or organization_id is not None or min_share is not None


@dataclass(frozen=True, slots=True)
class RankingRequest:
    order: RankingOrder
    organization_id: uuid.UUID | None
    min_share: float | None
    at: datetime
    limit: int
    offset: int


async def _rows(conn: AsyncConnection, statement: Any, params: dict[str, Any]) -> Page[Ranked]:
    rows = (await conn.execute(statement, params)).all()
    total = int(rows[0].total) if rows else 0
    items = [Ranked(r.user_id, r.spend_micros, r.share_of_limit) for r in rows if r.user_id is not None]
    return Page(items=items, total_count=total)


async def general_ranking(conn: AsyncConnection, request: RankingRequest) -> Page[Ranked]:
    """The page from the general statement: every candidate resolved."""
    params = _windows(request.at) | {
        "limit": request.limit,
        "offset": request.offset,
        "organization_id": request.organization_id,
        "min_share": request.min_share,
        "at": request.at,
    }
    return await _rows(conn, _GENERAL[request.order], params)


async def pruned_ranking(conn: AsyncConnection, request: RankingRequest) -> Page[Ranked] | None:
    """The page from the candidates with the highest bounds; None when pruning cannot tell."""
    try:
        return await _pruned(
            conn,
            request.order,
            request.organization_id,
            request.min_share,
            request.at,
            request.limit,
            request.offset,
        )
    except _Undecided:
        return None


async def ranking(
    conn: AsyncConnection,
    *,
    order: RankingOrder = RankingOrder.SPEND_DESC,
    organization_id: uuid.UUID | None = None,
    min_share: float | None = None,
    at: datetime | None = None,
    limit: int,
    offset: int,
) -> Page[Ranked]:
    """One page of the ranking, with the number of users it ranks (after the share filter).

    ``share_of_limit`` is None on the pages of the by-spend statement; the caller reads it from
    the page's statuses, which it loads anyway.
    """
    request = RankingRequest(order, organization_id, min_share, at or datetime.now(UTC), limit, offset)
    if not uses_resolution(order, organization_id, min_share):
        return await _by_spend(conn, request.at, limit, offset)
    return await pruned_ranking(conn, request) or await general_ranking(conn, request)
