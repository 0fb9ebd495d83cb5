"""Users ranked by spend, or by share of their effective limit, in the period that contains an
instant; deleted users left out, optionally only one organization's members.

The ranking key is the status's own: ``currentSpendMicros`` (0 while limits are disabled; scoped
to the organization only when a group limit of it wins) and its share of ``spendLimitMicros``.
So the general statement feeds every candidate user to the resolution's own CTEs
(``resolution.RESOLVED_CTES``) and the status's spend (``spend.SPENT_CTE``), and orders, filters,
counts and pages in SQL: nothing about the hierarchy or the spend scope is restated here, and
this is the only place that uses them for the ranking.

One order needs no resolution: by spend, over all organizations, without a share filter. Then a
user's key is their whole spend in the period (or 0 for everyone while limits are off), so that
statement sums one period of the rollup per user (an index-only scan of its day index), pages,
and only the page's statuses are resolved. A test checks both statements rank alike.
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
from spendlimits.limits.resolution import RESOLVED_CTES
from spendlimits.limits.spend import SPENT_CTE, rollup_day


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
    return text(
        f"""
        WITH keys AS (
            SELECT row_number() OVER () AS idx, u.id AS user_id,
                   CAST(:organization_id AS uuid) AS organization_id
            FROM users u
            WHERE NOT u.deleted
              AND (CAST(:organization_id AS uuid) IS NULL OR EXISTS (
                  SELECT 1 FROM organization_members om
                  WHERE om.organization_id = CAST(:organization_id AS uuid) AND om.user_id = u.id))
        ),
        {RESOLVED_CTES},
        {_PERIODS},
        windows AS (
            SELECT r.idx, p.period, p.first_day, p.end_day
            FROM resolved r JOIN periods p ON p.period = r.period
        ),
        {SPENT_CTE},
        ranked AS (
            SELECT r.user_id, u.username, coalesce(s.spend_micros, 0) AS spend_micros,
                   CASE WHEN r.limit_micros > 0
                        THEN coalesce(s.spend_micros, 0)::float8 / r.limit_micros END AS share_of_limit
            FROM resolved r
            JOIN users u ON u.id = r.user_id
            LEFT JOIN spent s ON s.idx = r.idx
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


def uses_resolution(order: RankingOrder, organization_id: uuid.UUID | None, min_share: float | None) -> bool:
    """Whether the ranking needs every candidate's limit (the general statement)."""
    return order is not RankingOrder.SPEND_DESC or organization_id is not None or min_share is not None


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
    at = at or datetime.now(UTC)
    params: dict[str, Any] = _windows(at) | {"limit": limit, "offset": offset}
    if uses_resolution(order, organization_id, min_share):
        statement = _GENERAL[order]
        params |= {"organization_id": organization_id, "min_share": min_share}
    else:
        statement = _BY_SPEND
    rows = (await conn.execute(statement, params)).all()
    total = int(rows[0].total) if rows else 0
    items = [Ranked(r.user_id, r.spend_micros, r.share_of_limit) for r in rows if r.user_id is not None]
    return Page(items=items, total_count=total)
