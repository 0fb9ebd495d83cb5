"""Migration 000014 on a database with spend folded and journaled: nothing is lost or doubled going
up (the journal is folded, the messages so far count as folded), writes after it keep the rollup
exact, a change of a message written before it is a counted correction, and going down folds
everything back into 000013's journal-kept rollup."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from spendlimits.db import migrate
from tests.db.versions import database_at

BEFORE = 13

INSERT = "INSERT INTO chat_messages (chat_id, role, total_cost_micros, created_at) VALUES ($1, 'assistant', $2, $3)"
# (raw spend, the rollup's, the month totals', the folded rows'), one snapshot.
SUMS = """
SELECT (SELECT coalesce(sum(total_cost_micros), 0) FROM chat_messages),
       (SELECT coalesce(sum(spend_micros), 0) FROM chat_spend_daily),
       (SELECT coalesce(sum(spend_micros), 0) FROM chat_spend_period_totals WHERE period = 'month'),
       (SELECT coalesce(sum(spend_micros), 0) FROM chat_spend_daily_folded)
"""


@pytest.fixture
async def deployed(server_url: str) -> AsyncIterator[str]:
    async with database_at(server_url, BEFORE) as url:
        yield url


async def sums(conn: asyncpg.Connection) -> tuple[int, ...]:
    row = await conn.fetchrow(SUMS)
    assert row is not None
    return tuple(row)


async def test_up_folds_the_journal_and_down_journals_again(deployed: str) -> None:
    conn = await migrate.connect(deployed)
    try:
        chat = await conn.fetchval(
            """
            WITH o AS (INSERT INTO organizations (name) VALUES ('a') RETURNING id),
                 u AS (INSERT INTO users (username) VALUES ('alice') RETURNING id)
            INSERT INTO chats (owner_id, organization_id) SELECT u.id, o.id FROM o, u RETURNING id
            """
        )
        day = datetime(2025, 6, 2, 12, tzinfo=UTC)
        await conn.execute(INSERT, chat, 100, day)
        await conn.fetchval("SELECT spendlimits_fold_spend_journal()")
        await conn.execute(INSERT, chat, 40, day)  # journaled, not folded
        assert await sums(conn) == (140, 140, 140, 100)

        await migrate.up(conn, migrate.load_migrations(), target=14)
        assert await sums(conn) == (140, 140, 140, 140)
        assert await conn.fetchval("SELECT count(*) FROM chat_spend_journal") == 0
        assert await conn.fetchval("SELECT count(*) FROM chat_spend_unfolded") == 0
        assert await conn.fetchval("SELECT count(*) FROM chat_messages WHERE recorded_xid = '0'") == 2

        # A message written before the migration, repriced: a counted correction of a folded one.
        await conn.execute("UPDATE chat_messages SET total_cost_micros = 30 WHERE total_cost_micros = 40")
        await conn.execute(INSERT, chat, 9, day)  # no trigger: unfolded by its transaction id
        assert await sums(conn) == (139, 139, 139, 140)
        assert await conn.fetchval("SELECT spendlimits_fold_spend_journal()") == 2
        assert await sums(conn) == (139, 139, 139, 139)
        await conn.execute(INSERT, chat, 5, day)
        assert await sums(conn) == (144, 144, 144, 139)

        assert await migrate.down(conn, migrate.load_migrations(), steps=1) == [14]
        assert await conn.fetchval("SELECT to_regclass('chat_spend_unfolded')") is None
        assert await sums(conn) == (144, 144, 144, 144)
        # 000013's trigger journals inserts again.
        await conn.execute(INSERT, chat, 6, day)
        assert await conn.fetchval("SELECT sum(delta_micros) FROM chat_spend_journal") == 6
        assert await sums(conn) == (150, 150, 150, 144)
    finally:
        await conn.close()
