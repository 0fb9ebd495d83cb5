"""The admission check fails open over HTTP (spec section 5): the daemon gets failedOpen=true, in
bounded time, with a logged warning, whether the database errors or hangs."""

import logging
import re
import time
from collections.abc import AsyncIterator
from dataclasses import replace

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.limits.periods import Period
from spendlimits.settings import Settings
from tests.conftest import GraphQLClient, plain
from tests.limits.factories import LimitFactory

CHECK_TIMEOUT_MS = 200

CHECK = """
query ($user: ID!) {
  chatUsageLimitCheck(userId: $user) { allowed failedOpen status { currentSpendMicros } exceeded { message } }
}
"""

FAILED_OPEN = {"allowed": True, "failedOpen": True, "status": None, "exceeded": None}


@pytest.fixture
def settings() -> Settings:
    """A short check timeout, so a hung database is given up on quickly."""
    return replace(
        Settings.from_env(), database_url=None, statement_timeout_ms=5000, check_timeout_ms=CHECK_TIMEOUT_MS
    )


@pytest.fixture
async def blocked_user(engine: AsyncEngine) -> str:
    """A user over a 100-micro daily limit: a check that can be evaluated blocks them."""
    make = LimitFactory(engine)
    await make.enable(100, Period.DAY)
    org = await make.organization("acme")
    user = await make.user("alice", organizations=(org,))
    await make.spend(user, org, 100)
    return str(user)


@pytest.fixture
async def blocker(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """Another session, to take locks that make the service's statements hang."""
    conn = await asyncpg.connect(plain(database_url))
    yield conn
    await conn.close()


async def test_the_check_blocks_when_the_database_answers(as_chatd: GraphQLClient, blocked_user: str) -> None:
    check = (await as_chatd.data(CHECK, {"user": blocked_user}))["chatUsageLimitCheck"]
    assert (check["allowed"], check["failedOpen"]) == (False, False)


async def test_a_database_error_fails_the_check_open(
    as_chatd: GraphQLClient, engine: AsyncEngine, blocked_user: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("ALTER TABLE chat_spend_daily_folded RENAME TO chat_spend_daily_folded_gone"))
    with caplog.at_level(logging.WARNING, logger="spendlimits.limits.check"):
        check = (await as_chatd.data(CHECK, {"user": blocked_user}))["chatUsageLimitCheck"]
    assert check == FAILED_OPEN
    assert "failed open" in caplog.text


async def test_a_hung_database_fails_the_check_open_within_the_timeout(
    as_chatd: GraphQLClient, blocker: asyncpg.Connection, blocked_user: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with blocker.transaction():
        await blocker.execute("LOCK TABLE chat_usage_limit_config IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="spendlimits.limits.check"):
            check = (await as_chatd.data(CHECK, {"user": blocked_user}))["chatUsageLimitCheck"]
        elapsed = time.monotonic() - started
    assert check == FAILED_OPEN
    assert elapsed < 1.0
    # The budget left after verifying the token: at most the whole timeout.
    waited = re.search(r"no answer from the database within (\d+) ms", caplog.text)
    assert waited, caplog.text
    assert int(waited[1]) <= CHECK_TIMEOUT_MS
    after = (await as_chatd.data(CHECK, {"user": blocked_user}))["chatUsageLimitCheck"]
    assert (after["allowed"], after["failedOpen"]) == (False, False)


async def test_a_daemon_seen_before_a_total_hang_gets_failed_open_rather_than_401(
    as_chatd: GraphQLClient, blocker: asyncpg.Connection, blocked_user: str
) -> None:
    await as_chatd.data(CHECK, {"user": blocked_user})
    async with blocker.transaction():
        # Token verification and the check both hang now.
        await blocker.execute("LOCK TABLE api_tokens, chat_usage_limit_config IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        response = await as_chatd.post(CHECK, {"user": blocked_user})
        elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert response.json()["data"]["chatUsageLimitCheck"] == FAILED_OPEN
    assert elapsed < 1.5


async def test_token_verification_and_the_check_share_one_timeout(
    as_chatd: GraphQLClient, blocker: asyncpg.Connection, blocked_user: str
) -> None:
    await as_chatd.data(CHECK, {"user": blocked_user})
    async with blocker.transaction():
        await blocker.execute("LOCK TABLE api_tokens, chat_usage_limit_config IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        response = await as_chatd.post(CHECK, {"user": blocked_user})
        elapsed = time.monotonic() - started
    assert response.json()["data"]["chatUsageLimitCheck"] == FAILED_OPEN
    # Verification waits out the timeout and the check then fails open at once: a daemon whose own
    # HTTP timeout is a little over SPENDLIMITS_CHECK_TIMEOUT_MS still gets the answer, not two waits.
    assert elapsed < 2 * CHECK_TIMEOUT_MS / 1000
