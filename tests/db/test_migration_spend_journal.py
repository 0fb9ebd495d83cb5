"""Migration 000012 on a database with spend in several slots: every key's slots become one folded
row, no spend is lost or doubled, and going down folds the journal back into the slotted tables."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from spendlimits.db import migrate
from tests.db.versions import database_at

BEFORE = 11

RAW = """
SELECT c.owner_id, c.organization_id, (m.created_at AT TIME ZONE 'UTC')::date AS day, sum(m.total_cost_micros) AS s
FROM chat_messages m JOIN chats c ON c.id = m.chat_id
WHERE m.total_cost_micros IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
"""
ROLLUP = """
SELECT user_id, organization_id, day, sum(spend_micros) AS s FROM chat_spend_daily
GROUP BY 1, 2, 3 HAVING sum(spend_micros) <> 0 ORDER BY 1, 2, 3
"""
MONTHS = """
SELECT user_id, period_start, sum(spend_micros) AS s FROM chat_spend_period_totals
WHERE period = 'month' GROUP BY 1, 2 ORDER BY 1, 2
"""
INSERT = "INSERT INTO chat_messages (chat_id, role, total_cost_micros, created_at) VALUES ($1, 'assistant', $2, $3)"


@pytest.fixture
async def deployed(server_url: str) -> AsyncIterator[str]:
    """The URL of a database at the version before 000012."""
    async with database_at(server_url, BEFORE) as url:
        yield url


def nonzero(rows: list[asyncpg.Record]) -> list[tuple[object, ...]]:
    return [tuple(r) for r in rows if r["s"] != 0]


async def test_slots_fold_into_one_row_per_key_and_back(deployed: str) -> None:
    conn = await migrate.connect(deployed)
    other = await migrate.connect(deployed)
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
        day = datetime(2025, 6, 2, 12, tzinfo=UTC)
        # Two open transactions writing for one user: migration 000011 puts the second in another slot.
        async with conn.transaction(), other.transaction():
            await conn.execute(INSERT, chat, 100, day)
            await other.execute(INSERT, chat, 40, day)
        await conn.execute(INSERT, chat, 7, datetime(2025, 5, 31, tzinfo=UTC))
        # A net decrease: 000011 folds the key's slots into slot 0 first.
        await conn.execute("UPDATE chat_messages SET total_cost_micros = 30 WHERE total_cost_micros = 40")
        async with conn.transaction(), other.transaction():
            await conn.execute(INSERT, chat, 5, day)
            await other.execute(INSERT, chat, 6, day)
        assert await conn.fetchval("SELECT count(DISTINCT slot) FROM chat_spend_daily") > 1
        raw = [tuple(r) for r in await conn.fetch(RAW)]
        months = nonzero(await conn.fetch(MONTHS))

        await migrate.up(conn, migrate.load_migrations(), target=12)
        assert nonzero(await conn.fetch(ROLLUP)) == raw
        assert nonzero(await conn.fetch(MONTHS)) == months
        # One folded row per key, nothing in the journal yet.
        assert await conn.fetchval("SELECT count(*) FROM chat_spend_journal") == 0
        assert await conn.fetchval(
            "SELECT count(*) = count(DISTINCT (user_id, day, organization_id)) FROM chat_spend_daily_folded"
        )
        assert await conn.fetchval(
            "SELECT count(*) = count(DISTINCT (period, period_start, user_id)) FROM chat_spend_period_totals_folded"
        )

        # Writes journal from now on; going down folds them into the slotted tables.
        await other.execute(INSERT, chat, 9, day)
        await other.execute("DELETE FROM chat_messages WHERE total_cost_micros = 5")
        assert await conn.fetchval("SELECT count(*) FROM chat_spend_journal") == 2
        raw = [tuple(r) for r in await conn.fetch(RAW)]
        assert nonzero(await conn.fetch(ROLLUP)) == raw

        assert await migrate.down(conn, migrate.load_migrations(), steps=1) == [12]
        assert await conn.fetchval("SELECT to_regclass('chat_spend_journal')") is None
        assert await conn.fetchval("SELECT count(DISTINCT slot) FROM chat_spend_daily") == 1
        assert nonzero(await conn.fetch(ROLLUP)) == raw
        # 000011's trigger keeps the tables again.
        await other.execute(INSERT, chat, 11, day)
        assert nonzero(await conn.fetch(ROLLUP)) == [tuple(r) for r in await conn.fetch(RAW)]
        assert await conn.fetchval(
            "SELECT sum(spend_micros) FROM chat_spend_period_totals WHERE period = 'month' AND period_start = '2025-06-01'"
        ) == await conn.fetchval(
            "SELECT sum(total_cost_micros) FROM chat_messages WHERE created_at >= '2025-06-01'"
        )
    finally:
        await conn.close()
        await other.close()
