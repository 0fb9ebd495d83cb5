"""The audit log of limit changes, below the API: written by the database in the changing
transaction for every writer (domain functions, plain SQL, the importer, the demo loader the
command line runs), with the actor a transaction names; append-only."""

import asyncio
import json
import os
import subprocess
import sys
import uuid

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.auth.principal import Principal, Role, Service
from spendlimits.demo import DemoSize, load_demo
from spendlimits.errors import DomainError
from spendlimits.importer import Importer
from spendlimits.insight.audit import Change, ChangeKind, list_changes, set_actor
from spendlimits.limits import config, overrides
from spendlimits.limits.enforcement import EnforcementMode
from spendlimits.limits.periods import Period
from tests.limits.factories import LimitFactory


@pytest.fixture
def make(engine: AsyncEngine) -> LimitFactory:
    return LimitFactory(engine)


async def changes(engine: AsyncEngine, **filters: object) -> list[Change]:
    async with engine.connect() as conn:
        return (await list_changes(conn, limit=500, offset=0, **filters)).items  # type: ignore[arg-type]


def someone(user_id: uuid.UUID | None = None, service: Service | None = None) -> Principal:
    return Principal(uuid.uuid4(), user_id, None if user_id is None else Role.OWNER, service)


async def test_every_kind_of_change_is_recorded_with_before_and_after_newest_first(
    engine: AsyncEngine, make: LimitFactory
) -> None:
    org = await make.organization("acme")
    alice = await make.user("alice", organizations=(org,))
    admin = uuid.uuid4()
    async with engine.begin() as conn:
        await set_actor(conn, someone(admin))
        await config.update_config(conn, spend_limit_micros=5, period=Period.DAY)
    async with engine.begin() as conn:
        await overrides.upsert_user_override(conn, alice, 10)
        await overrides.upsert_user_override(conn, alice, 20)
        await overrides.delete_user_override(conn, alice)
    async with engine.begin() as conn:
        await set_actor(conn, someone(service=Service.CHATD))
        await overrides.upsert_group_override(conn, org, 30)
        await overrides.delete_group_override(conn, org)
    found = await changes(engine)
    assert [(c.kind, c.old_spend_limit_micros, c.new_spend_limit_micros) for c in found] == [
        (ChangeKind.GROUP_OVERRIDE, 30, None),
        (ChangeKind.GROUP_OVERRIDE, None, 30),
        (ChangeKind.USER_OVERRIDE, 20, None),
        (ChangeKind.USER_OVERRIDE, 10, 20),
        (ChangeKind.USER_OVERRIDE, None, 10),
        (ChangeKind.CONFIG, None, 5),
    ]
    assert [(c.actor_user_id, c.actor_service) for c in found] == [(None, Service.CHATD)] * 2 + [
        (None, None)
    ] * 3 + [(admin, None)]
    config_change = found[-1]
    assert (config_change.old_enabled, config_change.new_enabled) == (False, True)
    assert (config_change.old_period, config_change.new_period) == (Period.MONTH, Period.DAY)
    assert (found[0].group_id, found[2].user_id) == (org, alice)
    assert [c.kind for c in await changes(engine, user_id=alice)] == [ChangeKind.USER_OVERRIDE] * 3
    assert len(await changes(engine, group_id=org)) == 2
    assert len(await changes(engine, kind=ChangeKind.CONFIG)) == 1


async def test_the_actor_does_not_outlive_its_transaction(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        async with conn.begin():
            await set_actor(conn, someone(uuid.uuid4()))
        async with conn.begin():
            await config.update_config(conn, enforcement_mode=EnforcementMode.FAIL_CLOSED)
    [change] = await changes(engine)
    assert (change.actor_user_id, change.actor_service) == (None, None)
    assert (change.old_enforcement_mode, change.new_enforcement_mode) == (
        EnforcementMode.FAIL_OPEN,
        EnforcementMode.FAIL_CLOSED,
    )


async def test_a_rolled_back_or_refused_change_leaves_no_entry(
    engine: AsyncEngine, make: LimitFactory
) -> None:
    alice = await make.user("alice")

    async def override_then_fail() -> None:
        async with engine.begin() as conn:
            await overrides.upsert_user_override(conn, alice, 10)
            await overrides.delete_group_override(conn, uuid.uuid4())

    async def bad_config() -> None:
        async with engine.begin() as conn:
            await config.update_config(conn, spend_limit_micros=0, period=Period.DAY)

    with pytest.raises(DomainError):
        await override_then_fail()
    with pytest.raises(DomainError):
        await bad_config()
    assert await changes(engine) == []


async def test_an_update_that_changes_nothing_records_nothing(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await config.update_config(conn)
        await config.update_config(conn, period=Period.MONTH)
    assert await changes(engine) == []


async def test_plain_sql_writers_are_recorded_too(engine: AsyncEngine, make: LimitFactory) -> None:
    org = await make.organization("acme")
    alice = await make.user("alice", organizations=(org,))
    await make.user_override(alice, 7)
    await make.group_override(org, 8)
    await make.enable(9)
    assert [c.kind for c in await changes(engine)] == [
        ChangeKind.CONFIG,
        ChangeKind.GROUP_OVERRIDE,
        ChangeKind.USER_OVERRIDE,
    ]


async def test_the_log_is_append_only(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await config.update_config(conn, spend_limit_micros=5, period=Period.DAY)
    for statement in (
        "UPDATE chat_usage_limit_changes SET new_spend_limit_micros = 1",
        "DELETE FROM chat_usage_limit_changes",
        "TRUNCATE chat_usage_limit_changes",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with engine.begin() as conn:
                await conn.execute(text(statement))
    assert len(await changes(engine)) == 1


async def test_the_importer_records_its_limits_with_no_actor(engine: AsyncEngine) -> None:
    lines = [
        {"type": "organization", "name": "acme"},
        {"type": "user", "username": "alice", "spend_limit_micros": 5_000_000},
        {"type": "group", "organization": "acme", "name": "eng", "spend_limit_micros": 7_000_000},
        {"type": "user", "username": "bob", "spend_limit_micros": 0},
    ]
    rejected: dict[int, str] = {}
    importer = Importer(engine, on_rejected=rejected.__setitem__, on_batch=lambda _: None)
    await importer.run([json.dumps(line) for line in lines])
    assert list(rejected) == [4] and "greater than 0" in rejected[4]
    found = await changes(engine)
    assert [(c.kind, c.new_spend_limit_micros, c.actor_user_id) for c in found] == [
        (ChangeKind.GROUP_OVERRIDE, 7_000_000, None),
        (ChangeKind.USER_OVERRIDE, 5_000_000, None),
    ]
    # A re-run sets the same values: nothing changes, nothing is recorded.
    await importer.run([json.dumps(line) for line in lines[:3]])
    assert len(await changes(engine)) == 2


def test_the_import_command_records_its_limits_with_no_actor(database_url: str) -> None:
    lines = [
        {"type": "user", "username": "carol", "spend_limit_micros": 9_000_000},
        {"type": "user", "username": "dan"},
    ]
    result = subprocess.run(
        [sys.executable, "-m", "spendlimits", "import", "-"],
        input="\n".join(json.dumps(line) for line in lines),
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr

    async def read() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(database_url)
        try:
            return await conn.fetch(
                "SELECT kind, new_spend_limit_micros, actor_user_id, actor_service FROM chat_usage_limit_changes"
            )
        finally:
            await conn.close()

    rows = asyncio.run(read())
    assert [tuple(r) for r in rows] == [("user_override", 9_000_000, None, None)]


async def test_the_demo_the_command_line_loads_records_its_limits(engine: AsyncEngine) -> None:
    await load_demo(engine, size=DemoSize(users=6, messages=10))
    found = await changes(engine)
    assert {c.kind for c in found} == {ChangeKind.CONFIG, ChangeKind.USER_OVERRIDE, ChangeKind.GROUP_OVERRIDE}
    assert all(c.actor_user_id is None and c.actor_service is None for c in found)
