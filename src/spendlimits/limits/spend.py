"""Spend in a period (spec section 4).

Spend of a user in [start, end) is the cost of the messages in chats they own (child chats carry
their parent's owner), soft-deleted messages and archived chats included, unpriced (NULL) costs
excluded. It is read from ``chat_spend_daily``, the per (user, UTC day, organization) rollup that
triggers keep exact: periods are whole UTC days, so any period is a sum of at most 31 small rows
however long the user's history. ``raw_spend`` sums the messages themselves, as Coder does, to
verify the rollup.
"""

import uuid
from datetime import UTC, date, datetime, time

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

# Reads ``resolved`` (resolution.RESOLVED_CTES) and ``windows(idx, period, first_day, end_day)``, the
# candidate periods of each key as UTC days [first_day, end_day); defines ``spent(idx,
# spend_micros)`` for the keys that have spend in the period of the configured length.
#
# Scope: when a group limit wins for an organization, only that organization's chats count against
# it; a personal or default limit counts every organization, so spreading spend across
# organizations cannot escape it.
SPENT_CTE = """
spent AS (
    SELECT r.idx, sum(d.spend_micros)::bigint AS spend_micros
    FROM resolved r
    JOIN windows w ON w.idx = r.idx AND w.period = r.period
    JOIN chat_spend_daily d
      ON d.user_id = r.user_id AND d.day >= w.first_day AND d.day < w.end_day
    WHERE r.source <> 'disabled'
      AND (r.source <> 'group' OR r.organization_id IS NULL OR d.organization_id = r.organization_id)
    GROUP BY r.idx
)"""


def rollup_day(bound: datetime) -> date:
    """A period bound as the rollup's UTC day; bounds between days cannot be answered from it."""
    utc = bound.astimezone(UTC)
    if utc.time() != time(0):
        raise ValueError(f"period bounds must be at midnight UTC, got {bound.isoformat()}")
    return utc.date()


async def spend(
    conn: AsyncConnection,
    user_id: uuid.UUID,
    start: datetime,
    end: datetime,
    organization_id: uuid.UUID | None = None,
) -> int:
    """Spend of a user in [start, end), both at UTC midnight, from the rollup.

    With ``organization_id``, only chats of that organization count; the status applies the
    scoping rule above to decide.
    """
    total = await conn.scalar(
        text(
            """
            SELECT coalesce(sum(spend_micros), 0)::bigint FROM chat_spend_daily
            WHERE user_id = :user_id AND day >= :first_day AND day < :end_day
              AND (CAST(:organization_id AS uuid) IS NULL OR organization_id = :organization_id)
            """
        ),
        {
            "user_id": user_id,
            "first_day": rollup_day(start),
            "end_day": rollup_day(end),
            "organization_id": organization_id,
        },
    )
    return int(total or 0)


async def raw_spend(
    conn: AsyncConnection,
    user_id: uuid.UUID,
    start: datetime,
    end: datetime,
    organization_id: uuid.UUID | None = None,
) -> int:
    """The same spend summed over the messages themselves (Coder's query): slow, for verification."""
    total = await conn.scalar(
        text(
            """
            SELECT coalesce(sum(m.total_cost_micros), 0)::bigint
            FROM chat_messages m
            JOIN chats c ON c.id = m.chat_id
            WHERE c.owner_id = :user_id
              AND m.created_at >= :start AND m.created_at < :end
              AND m.total_cost_micros IS NOT NULL
              AND (CAST(:organization_id AS uuid) IS NULL OR c.organization_id = :organization_id)
            """
        ),
        {"user_id": user_id, "start": start, "end": end, "organization_id": organization_id},
    )
    return int(total or 0)
