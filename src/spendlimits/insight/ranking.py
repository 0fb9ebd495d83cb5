"""Users ranked by spend, or by share of their effective limit, in the period that contains an
instant; deleted users left out, optionally only one organization's members.

The ranking key is the status's own: ``currentSpendMicros`` (0 while limits are disabled; scoped
to the organization only when a group limit of it wins) and its share of ``spendLimitMicros``.
Nothing about the hierarchy or the spend scope is restated here: exact keys come from the status
statement (``status.statuses``) or, in the general statement, from ``spendlimits_statuses``, the
SQL function that statement calls (migration 000003).

Resolving every user is what makes a ranking slow (about 1.3 s for 100k users), so three ways:

- **by spend**, over all organizations, without a share filter: a user's key is their whole
  spend in the period (0 for everyone while limits are off), so one statement sums one period of
  the rollup per user, orders and pages; no resolution at all.
- **pruned** (every other request, while limits are on): a user's whole spend in the period is an
  upper bound of their key (scoped spend never exceeds it), and spend / the lowest limit anyone
  can have is an upper bound of their share. Candidates are taken highest bound first and only
  they are resolved, exactly, until the page's last key beats every bound left; with a share
  filter, every user whose bound reaches it. Typically a few hundred statuses instead of 100k.
- **general**: one statement that resolves every candidate and orders, filters, counts and pages
  in SQL. The fallback whenever pruning cannot decide (the page reaches users whose key is 0, too
  many candidates, limits off), and the oracle the tests compare the other two with.
"""

import enum
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
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

# The order by spend over all organizations: the spend rule there is "the whole period's spend,
# or 0 while limits are off"; the share is filled in from the page's statuses by the caller.
_BY_SPEND = text(
    f"""
    WITH config AS (SELECT enabled, period FROM chat_usage_limit_config),
    {_PERIODS},
    totals AS (
        SELECT d.user_id, sum(d.spend_micros)::bigint AS spend_micros
        FROM chat_spend_daily d
        JOIN periods p ON p.period = (SELECT period FROM config)
        WHERE d.day >= p.first_day AND d.day < p.end_day AND (SELECT enabled FROM config)
        GROUP BY d.user_id
    )
    SELECT (SELECT count(*) FROM users WHERE NOT deleted) AS total, page.*
    FROM (SELECT 1) one
    LEFT JOIN LATERAL (
        SELECT u.id AS user_id, coalesce(t.spend_micros, 0) AS spend_micros,
               CAST(NULL AS float8) AS share_of_limit
        FROM users u LEFT JOIN totals t ON t.user_id = u.id
        WHERE NOT u.deleted
        ORDER BY coalesce(t.spend_micros, 0) DESC, u.username, u.id
        LIMIT :limit OFFSET :offset
    ) page ON true
    """
)


# The pruned ranking's candidates: live users (of the organization) with spend in the configured
# period, by that whole spend (their bound), highest first, from ``:offset`` on; with a share
# filter, only those whose bound can reach it. Also: the number of live users and of candidates,
# and the lowest limit anyone can have (the default, a user's own override or a group's override:
# whichever wins for a user, it is one of these).
_CANDIDATES = text(
    f"""
    WITH config AS (SELECT enabled, default_limit_micros, period FROM chat_usage_limit_config),
    {_PERIODS},
    live AS (
        SELECT u.id, u.username, u.chat_spend_limit_micros FROM users u
        WHERE NOT u.deleted
          AND (CAST(:organization_id AS uuid) IS NULL OR EXISTS (
              SELECT 1 FROM organization_members om
              WHERE om.organization_id = CAST(:organization_id AS uuid) AND om.user_id = u.id))
    ),
    lowest AS (
        SELECT least((SELECT default_limit_micros FROM config),
                     (SELECT min(chat_spend_limit_micros) FROM live),
                     (SELECT min(chat_spend_limit_micros) FROM groups)) AS micros
    ),
    totals AS (
        SELECT d.user_id, sum(d.spend_micros)::bigint AS spend_micros
        FROM chat_spend_daily d
        JOIN periods p ON p.period = (SELECT period FROM config)
        WHERE d.day >= p.first_day AND d.day < p.end_day
        GROUP BY d.user_id
    ),
    candidates AS (
        SELECT l.id, l.username, t.spend_micros FROM live l JOIN totals t ON t.user_id = l.id
        WHERE t.spend_micros > 0
          AND (CAST(:min_share AS float8) IS NULL
               OR t.spend_micros >= CAST(:min_share AS float8) * (SELECT micros FROM lowest))
    )
    SELECT (SELECT count(*) FROM live) AS live_count,
           (SELECT count(*) FROM candidates) AS candidate_count,
           (SELECT enabled FROM config) AS enabled,
           (SELECT micros FROM lowest) AS lowest_limit,
           page.id, page.username, page.spend_micros
    FROM (SELECT 1) one
    LEFT JOIN LATERAL (
        SELECT id, username, spend_micros FROM candidates
        ORDER BY spend_micros DESC, username, id
        LIMIT :limit OFFSET :offset
    ) page ON true
    """
)


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
    wanted = offset + limit
    # A share filter needs every passing user (for totalCount): all candidates, in one round.
    chunk = MAX_FILTER_CANDIDATES + 1 if min_share is not None else max(CHUNK, 2 * wanted)
    params = _windows(at) | {"organization_id": organization_id, "min_share": min_share, "limit": chunk}
    resolved: dict[uuid.UUID, Status] = {}
    names: dict[uuid.UUID, str] = {}
    while True:
        rows = (await conn.execute(_CANDIDATES, params | {"offset": len(resolved)})).all()
        head = rows[0]
        too_many = min_share is not None and head.candidate_count > MAX_FILTER_CANDIDATES
        if not head.enabled or not head.lowest_limit or too_many:
            raise _Undecided
        candidates = [(r.id, r.spend_micros) for r in rows if r.id is not None]
        names.update((r.id, r.username) for r in rows if r.id is not None)
        found = await statuses(conn, [(user_id, organization_id, at) for user_id, _ in candidates], now=at)
        resolved.update({key[0]: value for key, value in found.items()})
        exhausted = not candidates or len(resolved) >= head.candidate_count
        kept = [(user_id, st) for user_id, st in resolved.items() if _passes(st, min_share)]
        if min_share is not None:
            if not exhausted:
                raise _Undecided
            return Page(_ordered(order, kept, names, offset, limit), len(kept))
        keys = sorted((_key(order, st) for _, st in kept), reverse=True)
        # Every user not yet resolved has a key at most the last candidate's bound (0 once none is left).
        bound = 0.0 if exhausted else float(candidates[-1][1])
        if order is RankingOrder.SHARE_OF_LIMIT_DESC:
            bound /= float(head.lowest_limit)
        if len(keys) >= wanted and keys[wanted - 1] > bound and keys[wanted - 1] > 0:
            return Page(_ordered(order, kept, names, offset, limit), head.live_count)
        if exhausted:
            # The page reaches users whose key is 0 (or ties with those not resolved).
            raise _Undecided


def _ordered(
    order: RankingOrder,
    kept: list[tuple[uuid.UUID, Status]],
    names: dict[uuid.UUID, str],
    offset: int,
    limit: int,
) -> list[Ranked]:
    """The page of ``kept``, ties broken as the general statement breaks them: higher spend, then
    username, then id."""
    ranked = sorted(
        kept, key=lambda item: (-_key(order, item[1]), -item[1].spend_micros, names[item[0]], item[0])
    )
    return [
        Ranked(
            user_id,
            status.spend_micros,
            status.spend_micros / status.limit.limit_micros if status.limit.limit_micros else None,
        )
        for user_id, status in ranked[offset : offset + limit]
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
        return await _rows(conn, _BY_SPEND, _windows(request.at) | {"limit": limit, "offset": offset})
    return await pruned_ranking(conn, request) or await general_ranking(conn, request)
