"""The migration runner against a real server: up, down, up again, the lock, refusals."""

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from spendlimits.db import migrate
from tests.conftest import with_database


@pytest.fixture
async def empty_db(server_url: str) -> AsyncIterator[str]:
    name = f"spendlimits_mig_{os.getpid()}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{name}"')
    yield with_database(server_url, name)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


async def tables(conn: asyncpg.Connection) -> set[str]:
    rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return {r["tablename"] for r in rows}


async def test_up_down_up_leaves_the_full_schema(empty_db: str) -> None:
    migrations = migrate.load_migrations()
    conn = await migrate.connect(empty_db)
    try:
        assert await migrate.up(conn, migrations) == [m.version for m in migrations]
        assert {"users", "chat_messages", "chat_usage_limit_config", "api_tokens"} <= await tables(conn)
        assert await migrate.down(conn, migrations, steps=len(migrations)) == [
            m.version for m in reversed(migrations)
        ]
        assert await tables(conn) == {"schema_migrations"}
        await migrate.up(conn, migrations)
        status = await migrate.status(conn, migrations)
        assert status.current == migrations[-1].version
        assert status.pending == [] and status.dirty == []
        # The config row is seeded disabled, MONTH, exactly once.
        rows = await conn.fetch("SELECT enabled, period FROM chat_usage_limit_config")
        assert [(r["enabled"], r["period"]) for r in rows] == [(False, "month")]
    finally:
        await conn.close()


async def test_second_up_applies_nothing(empty_db: str) -> None:
    migrations = migrate.load_migrations()
    conn = await migrate.connect(empty_db)
    try:
        await migrate.up(conn, migrations)
        assert await migrate.up(conn, migrations) == []
    finally:
        await conn.close()


async def test_concurrent_runners_apply_each_migration_once(empty_db: str) -> None:
    migrations = migrate.load_migrations()
    conns = [await migrate.connect(empty_db) for _ in range(4)]
    try:
        results = await asyncio.gather(*(migrate.up(c, migrations) for c in conns))
        applied = sorted(v for r in results for v in r)
        assert applied == [m.version for m in migrations]
    finally:
        for c in conns:
            await c.close()


async def test_dirty_database_is_refused_until_forced(empty_db: str) -> None:
    migrations = migrate.load_migrations()
    conn = await migrate.connect(empty_db)
    try:
        await migrate.up(conn, migrations)
        await conn.execute("UPDATE schema_migrations SET dirty = true")
        with pytest.raises(migrate.MigrationError, match="dirty"):
            await migrate.up(conn, migrations)
        await migrate.force(conn, migrations, migrations[-1].version)
        assert await migrate.up(conn, migrations) == []
    finally:
        await conn.close()


async def test_database_newer_than_the_code_is_refused(empty_db: str) -> None:
    migrations = migrate.load_migrations()
    conn = await migrate.connect(empty_db)
    try:
        await migrate.up(conn, migrations)
        await conn.execute(
            "INSERT INTO schema_migrations (version, name, dirty) VALUES (999999, 'future', false)"
        )
        with pytest.raises(migrate.MigrationError, match="newer"):
            await migrate.up(conn, migrations)
    finally:
        await conn.close()


async def test_failing_migration_rolls_back_and_is_not_recorded(empty_db: str, tmp_path: Path) -> None:
    good = migrate.load_migrations()
    (tmp_path / "000900_broken.up.sql").write_text(
        "CREATE TABLE half_done (id int);\nSELECT no_such_function();"
    )
    (tmp_path / "000900_broken.down.sql").write_text("DROP TABLE half_done;")
    broken = migrate.load_migrations(tmp_path)
    conn = await migrate.connect(empty_db)
    try:
        await migrate.up(conn, good)
        with pytest.raises(migrate.MigrationError, match="rolled back"):
            await migrate.up(conn, [*good, *broken])
        assert "half_done" not in await tables(conn)
        status = await migrate.status(conn, [*good, *broken])
        assert [m.version for m in status.pending] == [900]
        assert status.dirty == []
    finally:
        await conn.close()


def test_a_migration_without_its_down_file_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "000001_only_up.up.sql").write_text("SELECT 1;")
    with pytest.raises(migrate.MigrationError, match="both"):
        migrate.load_migrations(tmp_path)
