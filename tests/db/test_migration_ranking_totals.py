"""Migration 000008 on a database with spend: the period totals start equal to the rollup, the
trigger keeps both from then on, and going down leaves the daily rollup working alone."""

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import asyncpg
import pytest

from spendlimits.db import migrate
from tests.db.versions import database_at

BEFORE = 7


@pytest.fixture
async def deployed(server_url: str) -> AsyncIterator[str]:
    """The URL of a database at the version before 000008."""
    async with database_at(server_url, BEFORE) as url:
        yield url


async def totals(conn: asyncpg.Connection, period: str) -> list[tuple[date, int]]:
    rows = await conn.fetch(
        """
        SELECT period_start, sum(spend_micros) AS s FROM chat_spend_period_totals
        WHERE period = $1 GROUP BY 1 ORDER BY 1
        """,
        period,
    )
    return [(r["period_start"], int(r["s"])) for r in rows]


async def test_totals_are_backfilled_from_the_rollup_and_kept_after(deployed: str) -> None:
    conn = await migrate.connect(deployed)
    other = await migrate.connect(deployed)  # another backend: most likely another slot
    try:
        ids = await conn.fetchrow(
            """
            WITH o AS (INSERT INTO organizations (name) VALUES ('a') RETURNING id),
                 u AS (INSERT INTO users (username) VALUES ('alice') RETURNING id)
            SELECT o.id AS o, u.id AS u FROM o, u
            """
        )
        assert ids is not None
        chat = await conn.fetchval(
            "INSERT INTO chats (owner_id, organization_id) VALUES ($1, $2) RETURNING id", ids["u"], ids["o"]
        )
        insert = (
            "INSERT INTO chat_messages (chat_id, role, total_cost_micros, created_at)"
            " VALUES ($1, 'assistant', $2, $3) RETURNING id"
        )
        await conn.execute(insert, chat, 100, datetime(2025, 5, 31, 23, tzinfo=UTC))
        await other.execute(insert, chat, 40, datetime(2025, 6, 2, tzinfo=UTC))
        gone = await other.fetchval(insert, chat, 7, datetime(2025, 6, 3, tzinfo=UTC))
        await conn.execute("DELETE FROM chat_messages WHERE id = $1", gone)

        await migrate.up(conn, migrate.load_migrations(), target=8)
        assert await totals(conn, "month") == [(date(2025, 5, 1), 100), (date(2025, 6, 1), 40)]
        # Saturday 31 May lies in the week from Monday 26 May; Monday 2 June starts the next one.
        assert await totals(conn, "week") == [(date(2025, 5, 26), 100), (date(2025, 6, 2), 40)]
        # The deleted message's day stays, at 0, as it does in the rollup.
        assert await totals(conn, "day") == [
            (date(2025, 5, 31), 100),
            (date(2025, 6, 2), 40),
            (date(2025, 6, 3), 0),
        ]

        # From now on the trigger keeps them: a message moved from June into May.
        await other.execute(
            "UPDATE chat_messages SET created_at = $1 WHERE total_cost_micros = 40",
            datetime(2025, 5, 20, tzinfo=UTC),
        )
        assert await totals(conn, "month") == [(date(2025, 5, 1), 140), (date(2025, 6, 1), 0)]

        assert await migrate.down(conn, migrate.load_migrations(), steps=1) == [8]
        assert await conn.fetchval("SELECT to_regclass('chat_spend_period_totals')") is None
        await other.execute(insert, chat, 5, datetime(2025, 6, 4, tzinfo=UTC))
        assert await conn.fetchval("SELECT sum(spend_micros) FROM chat_spend_daily") == 145
    finally:
        await conn.close()
        await other.close()
