"""The admission check (spec section 5): equality blocks, and fail-open within a bounded time."""

import asyncio
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.db.engine import create_engine
from spendlimits.errors import NotFound
from spendlimits.limits.check import EXCEEDED_MESSAGE, check
from spendlimits.limits.periods import Period
from spendlimits.settings import Settings
from tests.conftest import plain
from tests.limits.factories import LimitFactory

TIMEOUT = 1.0
#: Every check here is asked about this instant, and spend is written at it: a test run across
#: midnight UTC cannot see its spend fall into the previous day.
NOW = datetime(2025, 6, 15, 12, tzinfo=UTC)


@pytest.fixture
def make(engine: AsyncEngine) -> LimitFactory:
    return LimitFactory(engine)


async def limited_user(make: LimitFactory, spent: int) -> uuid.UUID:
    """A user limited to 100 micros a day who has spent ``spent`` today."""
    await make.enable(100, Period.DAY)
    org = await make.organization("acme")
    user = await make.user("alice", organizations=(org,))
    await make.spend(user, org, spent, at=NOW)
    return user


async def test_spend_one_below_the_limit_is_allowed(engine: AsyncEngine, make: LimitFactory) -> None:
    result = await check(engine, await limited_user(make, 99), timeout_seconds=TIMEOUT, now=NOW)
    assert (result.allowed, result.failed_open, result.exceeded) == (True, False, None)
    assert result.status is not None and result.status.remaining_micros == 1


async def test_spend_equal_to_the_limit_is_blocked_until_the_end_of_the_utc_day(
    engine: AsyncEngine, make: LimitFactory
) -> None:
    result = await check(engine, await limited_user(make, 100), timeout_seconds=TIMEOUT, now=NOW)
    today = NOW.replace(hour=0)
    assert (result.allowed, result.failed_open) == (False, False)
    assert result.exceeded is not None
    assert result.exceeded.message == EXCEEDED_MESSAGE == "Chat usage limit exceeded."
    assert (result.exceeded.spent_micros, result.exceeded.limit_micros) == (100, 100)
    assert result.exceeded.resets_at == today + timedelta(days=1)


async def test_an_overshoot_is_reported_as_spent(engine: AsyncEngine, make: LimitFactory) -> None:
    result = await check(engine, await limited_user(make, 150), timeout_seconds=TIMEOUT, now=NOW)
    assert result.exceeded is not None and result.exceeded.spent_micros == 150


async def test_disabled_limits_allow_everyone(engine: AsyncEngine, make: LimitFactory) -> None:
    user = await limited_user(make, 1000)
    await make.disable()
    result = await check(engine, user, timeout_seconds=TIMEOUT, now=NOW)
    assert (result.allowed, result.failed_open, result.exceeded) == (True, False, None)
    assert result.status is not None and not result.status.is_limited


async def test_an_unknown_user_is_not_found(engine: AsyncEngine) -> None:
    with pytest.raises(NotFound):
        await check(engine, uuid.uuid4(), timeout_seconds=TIMEOUT, now=NOW)


async def test_a_database_error_fails_open_with_a_warning(
    engine: AsyncEngine, make: LimitFactory, caplog: pytest.LogCaptureFixture
) -> None:
    user = await limited_user(make, 100)
    async with engine.begin() as conn:
        await conn.execute(text("ALTER TABLE chat_spend_daily_folded RENAME TO chat_spend_daily_folded_gone"))
    with caplog.at_level(logging.WARNING, logger="spendlimits.limits.check"):
        result = await check(engine, user, timeout_seconds=TIMEOUT, now=NOW)
    assert (result.allowed, result.failed_open, result.status, result.exceeded) == (True, True, None, None)
    assert "failed open" in caplog.text
    assert 'relation "chat_spend_daily_folded" does not exist' in caplog.text


async def test_an_unreachable_database_fails_open_quickly(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    nowhere = create_engine("postgresql://postgres@127.0.0.1:1/none", settings)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="spendlimits.limits.check"):
        result = await check(nowhere, uuid.uuid4(), timeout_seconds=TIMEOUT, now=NOW)
    await nowhere.dispose()
    assert (result.allowed, result.failed_open) == (True, True)
    assert time.monotonic() - started < TIMEOUT + 0.5
    assert "failed open" in caplog.text


async def test_a_hung_database_fails_open_within_the_timeout_and_recovers(
    engine: AsyncEngine, database_url: str, make: LimitFactory, caplog: pytest.LogCaptureFixture
) -> None:
    user = await limited_user(make, 100)
    blocker = await asyncpg.connect(plain(database_url))
    try:
        transaction = blocker.transaction()
        await transaction.start()
        # Every check reads the configuration, so this holds every check until the lock goes.
        await blocker.execute("LOCK TABLE chat_usage_limit_config IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="spendlimits.limits.check"):
            result = await check(engine, user, timeout_seconds=0.2, now=NOW)
        elapsed = time.monotonic() - started
        await transaction.rollback()
    finally:
        await blocker.close()
    assert (result.allowed, result.failed_open, result.status) == (True, True, None)
    assert elapsed < 1.0
    assert "no answer from the database within 200 ms" in caplog.text
    # Once the database answers again, so does the check: the abandoned attempt left nothing stuck.
    await asyncio.wait_for(_until_blocked(engine, user), timeout=5)


async def _until_blocked(engine: AsyncEngine, user: uuid.UUID) -> None:
    result = await check(engine, user, timeout_seconds=TIMEOUT, now=NOW)
    assert (result.allowed, result.failed_open) == (False, False)
