"""Migration 000004 on a deployed database that already breaks its rules: it must not fail."""

import os
from collections.abc import AsyncIterator

import asyncpg
import pytest

from spendlimits.db import migrate
from tests.conftest import with_database

BEFORE = 2


@pytest.fixture
async def deployed(server_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A database at the version before 000004."""
    name = f"spendlimits_m4_{os.getpid()}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{name}"')
    conn = await migrate.connect(with_database(server_url, name))
    await migrate.up(conn, migrate.load_migrations(), target=BEFORE)
    yield conn
    await conn.close()
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


async def seed(conn: asyncpg.Connection, *, cross_organization_child: bool) -> dict[str, object]:
    ids = await conn.fetchrow(
        """
        WITH a AS (INSERT INTO organizations (name) VALUES ('a') RETURNING id),
             b AS (INSERT INTO organizations (name) VALUES ('b') RETURNING id),
             u AS (INSERT INTO users (username, deleted, chat_spend_limit_micros)
                   VALUES ('gone', true, 5000000) RETURNING id)
        SELECT a.id AS a, b.id AS b, u.id AS u FROM a, b, u
        """
    )
    parent = await conn.fetchval(
        "INSERT INTO chats (owner_id, organization_id) VALUES ($1, $2) RETURNING id", ids["u"], ids["a"]
    )
    child_organization = ids["b"] if cross_organization_child else ids["a"]
    await conn.execute(
        "INSERT INTO chats (owner_id, organization_id, parent_chat_id) VALUES ($1, $2, $3)",
        ids["u"],
        child_organization,
        parent,
    )
    return {"a": ids["a"], "b": ids["b"], "user": ids["u"], "parent": parent}


async def validated(conn: asyncpg.Connection) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT convalidated FROM pg_constraint WHERE conname = 'chats_parent_same_organization'"
        )
    )


async def test_a_database_with_a_cross_organization_child_chat_migrates_and_refuses_new_ones(
    deployed: asyncpg.Connection,
) -> None:
    ids = await seed(deployed, cross_organization_child=True)
    assert await migrate.up(deployed, migrate.load_migrations()) != []
    # The old row is kept (its spend is attributed where it was recorded); new ones are refused.
    assert not await validated(deployed)
    assert await deployed.fetchval("SELECT count(*) FROM chats") == 2
    with pytest.raises(asyncpg.ForeignKeyViolationError, match="chats_parent_same_organization"):
        await deployed.execute(
            "INSERT INTO chats (owner_id, organization_id, parent_chat_id) VALUES ($1, $2, $3)",
            ids["user"],
            ids["b"],
            ids["parent"],
        )
    # The override the deleted user kept is cleared.
    assert (
        await deployed.fetchval("SELECT chat_spend_limit_micros FROM users WHERE id = $1", ids["user"])
        is None
    )


async def test_a_clean_database_gets_the_constraint_validated(deployed: asyncpg.Connection) -> None:
    await seed(deployed, cross_organization_child=False)
    await migrate.up(deployed, migrate.load_migrations())
    assert await validated(deployed)
