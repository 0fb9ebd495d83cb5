"""A scratch database migrated to an earlier version, for the tests of one migration on data that
the versions before it wrote."""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from spendlimits.db import migrate
from tests.conftest import with_database


@asynccontextmanager
async def database_at(server_url: str, version: int) -> AsyncIterator[str]:
    """The URL of a new database at ``version``, dropped afterwards."""
    name = f"spendlimits_at{version}_{os.getpid()}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = with_database(server_url, name)
        conn = await migrate.connect(url)
        try:
            await migrate.up(conn, migrate.load_migrations(), target=version)
        finally:
            await conn.close()
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
