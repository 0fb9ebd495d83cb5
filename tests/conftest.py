"""Database fixtures: a real PostgreSQL, a migrated template, a fresh clone per test.

TEST_DATABASE_URL points the suite at a server (any database on it; the suite creates its own).
Without it the suite starts an embedded PostgreSQL in .pgdata-test/.
"""

import asyncio
import itertools
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.app import create_app
from spendlimits.auth.principal import Role, Service
from spendlimits.auth.tokens import create_token
from spendlimits.db import migrate
from spendlimits.db.embedded import start_embedded
from spendlimits.db.engine import create_engine
from spendlimits.directory.users import User, create_user
from spendlimits.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
_counter = itertools.count()


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


@pytest.fixture(scope="session")
def server_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return plain(url)
    return plain(start_embedded(ROOT / ".pgdata-test"))


@pytest.fixture(scope="session")
def template_db(server_url: str) -> Iterator[str]:
    name = f"spendlimits_tpl_{os.getpid()}"

    async def create() -> None:
        admin = await asyncpg.connect(server_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        conn = await asyncpg.connect(with_database(server_url, name))
        try:
            await migrate.up(conn, migrate.load_migrations())
        finally:
            await conn.close()

    asyncio.run(create())
    yield name
    # The clones first: the template cannot go while a drop of a clone is still queued.
    _DROPS.shutdown(wait=True)
    for dropped in _DROPPED:
        dropped.result()  # a clone that could not be dropped fails the session here, loudly
    asyncio.run(_drop(server_url, name))


async def _drop(server_url: str, name: str) -> None:
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


#: Clones are dropped one after another on a thread of their own while the next tests run: a DROP
#: DATABASE waits for a checkpoint (80-120 ms on this machine's PostgreSQL 15), time in which a test
#: can run. The template's teardown waits for the queue to drain.
_DROPS = ThreadPoolExecutor(max_workers=1, thread_name_prefix="drop-test-database")
_DROPPED: list[Future[None]] = []


@pytest.fixture
async def database_url(server_url: str, template_db: str) -> AsyncIterator[str]:
    """A migrated database of this test's own, cloned from the template.

    WAL_LOG (PostgreSQL 15's default) copies the template's few pages through the WAL; FILE_COPY
    forces two checkpoints per clone and took 5x as long here (190 vs 38 ms). Commits in the clone
    do not wait for the WAL flush (``synchronous_commit = off``): no quick test is about durability,
    and the reliability suite, which is, runs its own PostgreSQL with the defaults.
    """
    name = f"spendlimits_t_{os.getpid()}_{next(_counter)}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}" STRATEGY WAL_LOG')
        await admin.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    finally:
        await admin.close()
    yield with_database(server_url, name)
    _DROPPED.append(_DROPS.submit(asyncio.run, _drop(server_url, name)))


@pytest.fixture
def settings() -> Settings:
    return replace(Settings.from_env(), database_url=None, statement_timeout_ms=5000, check_timeout_ms=1000)


@pytest.fixture
async def engine(database_url: str, settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, settings)
    yield engine
    await engine.dispose()


@pytest.fixture
async def client(engine: AsyncEngine, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(engine, settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def make_user(
    engine: AsyncEngine, role: Role = Role.MEMBER, username: str | None = None, **kw: Any
) -> User:
    async with engine.begin() as conn:
        return await create_user(conn, username=username or f"u{uuid.uuid4().hex[:10]}", role=role, **kw)


async def make_token(engine: AsyncEngine, user: User | None = None, service: Service | None = None) -> str:
    async with engine.begin() as conn:
        created = await create_token(conn, name="test", user_id=user.id if user else None, service=service)
    return created.secret


class GraphQLClient:
    """Posts GraphQL over HTTP as a given token, the way a frontend or the daemon would."""

    def __init__(self, http: httpx.AsyncClient, token: str | None) -> None:
        self.http = http
        self.token = token

    async def post(self, query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )

    async def execute(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The whole response body; asserts the HTTP status is 200."""
        response = await self.post(query, variables)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The data of a response that must have no errors."""
        body = await self.execute(query, variables)
        assert not body.get("errors"), body["errors"]
        data: dict[str, Any] = body["data"]
        return data


@pytest.fixture
async def owner(engine: AsyncEngine) -> User:
    return await make_user(engine, Role.OWNER, username="owner")


@pytest.fixture
async def as_owner(client: httpx.AsyncClient, engine: AsyncEngine, owner: User) -> GraphQLClient:
    return GraphQLClient(client, await make_token(engine, owner))


@pytest.fixture
async def as_auditor(client: httpx.AsyncClient, engine: AsyncEngine) -> GraphQLClient:
    return GraphQLClient(
        client, await make_token(engine, await make_user(engine, Role.AUDITOR, username="auditor"))
    )


@pytest.fixture
async def member(engine: AsyncEngine) -> User:
    return await make_user(engine, Role.MEMBER, username="member")


@pytest.fixture
async def as_member(client: httpx.AsyncClient, engine: AsyncEngine, member: User) -> GraphQLClient:
    return GraphQLClient(client, await make_token(engine, member))


@pytest.fixture
async def as_chatd(client: httpx.AsyncClient, engine: AsyncEngine) -> GraphQLClient:
    return GraphQLClient(client, await make_token(engine, service=Service.CHATD))
