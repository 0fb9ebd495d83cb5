"""Spend read two ways, for tests and benchmarks only: from the rollup and from the messages."""

import uuid
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from spendlimits.limits.spend import rollup_day


async def spend(
    conn: AsyncConnection,
    user_id: uuid.UUID,
    start: datetime,
    end: datetime,
    organization_id: uuid.UUID | None = None,
) -> int:
    """Spend of a user in [start, end), both at UTC midnight, from the rollup (summed over slots).

    With ``organization_id``, only chats of that organization count.
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
