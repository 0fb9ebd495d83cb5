"""Migration 000010: spendlimits_resolve answers set-based exactly what migration 000003's lateral
lookup answered, on a world of tricky cases (own overrides, several limited groups, ties, limited
Everyone groups, organizations, deleted users, unknown users and organizations, duplicate keys,
limits off), and going down restores the old function and view."""

import random
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from spendlimits.db import migrate
from tests.db.versions import database_at

BEFORE = 9


@pytest.fixture
async def deployed(server_url: str) -> AsyncIterator[str]:
    """The URL of a database at the version before 000010."""
    async with database_at(server_url, BEFORE) as url:
        yield url


async def tricky_world(conn: asyncpg.Connection) -> list[tuple[uuid.UUID | None, uuid.UUID | None]]:
    """Users in every tier and the keys to ask about (user, organization)."""
    rng = random.Random(10)
    orgs = [
        await conn.fetchval("INSERT INTO organizations (name) VALUES ($1) RETURNING id", n) for n in "ABC"
    ]
    users = [
        await conn.fetchval("INSERT INTO users (username) VALUES ($1) RETURNING id", f"user{i:02}")
        for i in range(40)
    ]
    for i, user in enumerate(users):
        # Organization C has only a few members; user 39 belongs to none.
        for j, org in enumerate(orgs):
            if i < 39 and ((j < 2 and (i + j) % 3 != 0) or (j == 2 and i % 5 == 0)):
                await conn.execute("INSERT INTO organization_members VALUES ($1, $2)", org, user)
    members = {
        org: {
            r["user_id"]
            for r in await conn.fetch(
                "SELECT user_id FROM organization_members WHERE organization_id = $1", org
            )
        }
        for org in orgs
    }
    groups = []
    for g in range(9):
        org = orgs[g % 3]
        # Equal limits and equal names across organizations make the ties count; some have none.
        limit = None if g % 4 == 3 else [5, 5, 7, 20][g % 4] * 1_000_000
        name = "team" if g in (0, 1, 2) else f"g{g}"
        group = await conn.fetchval(
            "INSERT INTO groups (organization_id, name, chat_spend_limit_micros) VALUES ($1, $2, $3) RETURNING id",
            org,
            name,
            limit,
        )
        groups.append(group)
        for user in rng.sample(sorted(members[org]), k=min(len(members[org]), 3 + g * 2)):
            await conn.execute("INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)", group, user)
    # Organization B's Everyone group has a limit too: every member of B is in a limited group.
    await conn.execute("UPDATE groups SET chat_spend_limit_micros = 6000000 WHERE id = $1", orgs[1])
    for i, user in enumerate(users):
        if i % 7 == 0:
            await conn.execute(
                "UPDATE users SET chat_spend_limit_micros = $1 WHERE id = $2", (1 + i) * 100_000, user
            )
        if i % 6 == 1:
            # Deleted users: some with an override, all in groups before.
            await conn.execute("UPDATE users SET deleted = true WHERE id = $1", user)
    await conn.execute(
        "UPDATE chat_usage_limit_config SET enabled = true, default_limit_micros = 10000000, period = 'week'"
    )
    keys: list[tuple[uuid.UUID | None, uuid.UUID | None]] = [
        (user, org) for user in users for org in (None, *orgs, uuid.uuid4())
    ]
    keys += [(uuid.uuid4(), None), (None, orgs[0]), (users[3], orgs[1]), (users[3], orgs[1])]
    rng.shuffle(keys)
    return keys


async def resolved(
    conn: asyncpg.Connection, keys: list[tuple[uuid.UUID | None, uuid.UUID | None]]
) -> list[Any]:
    rows = await conn.fetch(
        "SELECT * FROM spendlimits_resolve($1::uuid[], $2::uuid[]) ORDER BY idx",
        [k[0] for k in keys],
        [k[1] for k in keys],
    )
    return [tuple(r) for r in rows]


async def definitions(conn: asyncpg.Connection) -> tuple[str, str]:
    function = await conn.fetchval(
        "SELECT pg_get_functiondef('spendlimits_resolve(uuid[], uuid[])'::regprocedure)"
    )
    view = await conn.fetchval("SELECT pg_get_viewdef('group_members_expanded'::regclass)")
    return function, view


async def answers(
    conn: asyncpg.Connection, keys: list[tuple[uuid.UUID | None, uuid.UUID | None]]
) -> dict[str, Any]:
    """Everything the hierarchy answers, with limits on and off, and the expanded memberships."""
    found = {"on": await resolved(conn, keys)}
    await conn.execute("UPDATE chat_usage_limit_config SET enabled = false")
    found["off"] = await resolved(conn, keys)
    await conn.execute("UPDATE chat_usage_limit_config SET enabled = true")
    found["members"] = [
        tuple(r) for r in await conn.fetch("SELECT * FROM group_members_expanded ORDER BY group_id, user_id")
    ]
    # Each key alone, as the check and every reserve ask.
    found["single"] = [await resolved(conn, [key]) for key in keys[:60]]
    return found


async def test_the_set_based_resolution_answers_as_the_lateral_one_and_down_restores_it(
    deployed: str,
) -> None:
    migrations = migrate.load_migrations()
    conn = await migrate.connect(deployed)
    try:
        keys = await tricky_world(conn)
        before = await answers(conn, keys)
        old_definitions = await definitions(conn)
        sources = {row[4] for row in before["on"]}
        # The world reaches every tier, or the comparison would prove little.
        assert sources == {"user", "group", "default"}
        assert {row[7] is not None for row in before["on"]} == {True, False}
        assert len(before["on"]) < len(keys)  # unknown users are left out

        await migrate.up(conn, migrations, target=BEFORE + 1)
        assert await definitions(conn) != old_definitions
        assert await answers(conn, keys) == before

        await migrate.down(conn, migrations, steps=1)
        assert await definitions(conn) == old_definitions
        assert await answers(conn, keys) == before
    finally:
        await conn.close()
