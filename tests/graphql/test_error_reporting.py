"""What clients and operators see when things go wrong: codes for clients, logs only for us."""

import logging
from collections.abc import AsyncIterator
from dataclasses import replace

import asyncpg
import pytest

from spendlimits.settings import Settings
from tests.conftest import GraphQLClient, plain


@pytest.fixture
def settings() -> Settings:
    """A short statement timeout, so a locked table looks like an unresponsive database quickly."""
    return replace(Settings.from_env(), database_url=None, statement_timeout_ms=300, check_timeout_ms=1000)


@pytest.fixture
async def blocker(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(plain(database_url))
    yield conn
    await conn.close()


async def test_a_read_during_a_database_stall_says_service_unavailable(
    as_owner: GraphQLClient, blocker: asyncpg.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    async with blocker.transaction():
        await blocker.execute("LOCK TABLE organizations IN ACCESS EXCLUSIVE MODE")
        with caplog.at_level(logging.WARNING):
            body = await as_owner.execute("{ organizations { name } }")
    [error] = body["errors"]
    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert "try again" in error["message"]
    assert "database unavailable" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_bad_documents_are_answered_without_error_logs(
    as_owner: GraphQLClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        syntax = await as_owner.execute("{ viewer { ")
        unknown = await as_owner.execute("{ noSuchField }")
    assert syntax["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert unknown["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
