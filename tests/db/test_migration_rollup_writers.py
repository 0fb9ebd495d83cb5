"""Migration 000011 (16 rollup slots, one-row inserts on a path of their own) going down: rows of
slots 8-15 are added into slot (slot % 8) of their key, so every sum survives, and the writers
that follow use 000008's 8 slots again; going up again allows all 16."""

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from spendlimits.db import migrate
from tests.conftest import with_database

VERSION = 11


@pytest.fixture
async def deployed(server_url: str) -> AsyncIterator[str]:
    """The URL of a database migrated to the latest version."""
    name = f"spendlimits_m11_{os.getpid()}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = with_database(server_url, name)
    conn = await migrate.connect(url)
    try:
        await migrate.up(conn, migrate.load_migrations())
    finally:
        await conn.close()
    yield url
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


async def session_in_slot(url: str, wanted: int) -> asyncpg.Connection:
    """A session whose backend's slot (pg_backend_pid() % 16) is ``wanted``."""
    spare: list[asyncpg.Connection] = []
    while True:
        conn = await asyncpg.connect(url)
        if await conn.fetchval("SELECT pg_backend_pid() % 16") == wanted:
            for other in spare:
                await other.close()
            return conn
        spare.append(conn)  # kept open until the end, so the next pid differs


async def sums(conn: asyncpg.Connection) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    daily = await conn.fetch(
        "SELECT user_id, day, organization_id, sum(spend_micros) FROM chat_spend_daily GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    )
    totals = await conn.fetch(
        "SELECT user_id, period, period_start, sum(spend_micros) FROM chat_spend_period_totals"
        " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    )
    return [tuple(r) for r in daily], [tuple(r) for r in totals]


async def slots(conn: asyncpg.Connection, table: str) -> list[int]:
    return list(await conn.fetchval(f"SELECT array_agg(DISTINCT slot ORDER BY slot) FROM {table}"))


async def test_down_folds_the_upper_slots_and_up_allows_them_again(deployed: str) -> None:
    conn = await migrate.connect(deployed)
    # Slots 11 and 3 fold into one row (3); slot 12 alone moves to 4.
    writers = [await session_in_slot(deployed, slot) for slot in (11, 3, 12)]
    try:
        assert migrate.load_migrations()[-1].version == VERSION
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
            " VALUES ($1, 'assistant', $2, $3)"
        )
        day = datetime(2025, 6, 3, 12, tzinfo=UTC)
        for writer, cost in zip(writers, (100, 20, 3), strict=True):
            await writer.execute(insert, chat, cost, day)
        assert await slots(conn, "chat_spend_daily") == [3, 11, 12]
        before = await sums(conn)

        assert await migrate.down(conn, migrate.load_migrations(), steps=1) == [VERSION]
        assert await sums(conn) == before
        assert (
            await slots(conn, "chat_spend_daily") == await slots(conn, "chat_spend_period_totals") == [3, 4]
        )
        # 000008's writers: the backend's pid % 8, which the constraint allows again.
        await writers[2].execute(insert, chat, 4, day)
        assert await conn.fetchval("SELECT sum(spend_micros) FROM chat_spend_daily") == 127

        await migrate.up(conn, migrate.load_migrations())
        await writers[0].execute(insert, chat, 1000, day)
        assert await slots(conn, "chat_spend_daily") == [3, 4, 11]
        month = "SELECT sum(spend_micros) FROM chat_spend_period_totals WHERE period = 'month'"
        assert await conn.fetchval(month) == 1127
    finally:
        await conn.close()
        for writer in writers:
            await writer.close()
