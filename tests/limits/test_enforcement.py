"""The enforcement mode (docs/design.md): what the check and reserve answer when the decision cannot be
evaluated. FAIL_OPEN (the default) allows the work; FAIL_CLOSED refuses it, within the same bounded
time, whether the database errors or hangs."""

import logging
import time
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.db.engine import create_engine
from spendlimits.limits.check import CheckResult, check
from spendlimits.limits.config import get_config, update_config
from spendlimits.limits.enforcement import EnforcementMode
from spendlimits.limits.periods import Period
from spendlimits.limits.reservations import ReserveRequest, reserve
from spendlimits.settings import Settings
from tests.conftest import plain
from tests.limits.factories import LimitFactory

TIMEOUT = 1.0
SHORT = 0.2


@pytest.fixture
async def user(engine: AsyncEngine) -> uuid.UUID:
    """A user well under a 100-micro daily limit: any decision that can be evaluated allows them."""
    make = LimitFactory(engine)
    await make.enable(100, Period.DAY)
    org = await make.organization("acme")
    return await make.user("alice", organizations=(org,))


async def set_mode(engine: AsyncEngine, mode: EnforcementMode) -> None:
    async with engine.begin() as conn:
        await update_config(conn, spend_limit_micros=100, period=Period.DAY, enforcement_mode=mode)


@pytest.fixture
async def blocker(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """Another session, to take a lock that makes every decision's statement hang."""
    conn = await asyncpg.connect(plain(database_url))
    yield conn
    await conn.close()


async def break_database(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("ALTER TABLE chat_spend_daily_folded RENAME TO chat_spend_daily_folded_gone"))


async def decisions(engine: AsyncEngine, user: uuid.UUID, deadline: float) -> list[CheckResult]:
    """The plain check's and reserve's answers; asserts reserve held nothing."""
    checked = await check(engine, user, timeout_seconds=deadline)
    reserved = await reserve(
        engine, ReserveRequest(user_id=user, estimate_micros=1), timeout_seconds=deadline
    )
    assert reserved.reservation is None
    return [checked, reserved.check]


FAILED_CLOSED = (False, False, True, None, None)
FAILED_OPEN = (True, True, False, None, None)


def shape(result: CheckResult) -> tuple[object, ...]:
    return (result.allowed, result.failed_open, result.failed_closed, result.status, result.exceeded)


async def test_a_fresh_install_fails_open(engine: AsyncEngine, user: uuid.UUID) -> None:
    """Stored mode and behaviour both: a decision that reads the fresh configuration, then one that
    fails, answers FAIL_OPEN (a FAIL_CLOSED default, stored or in the process, would fail this)."""
    async with engine.connect() as conn:
        config = await get_config(conn)
    assert (config.enforcement_mode, config.reservation_ttl_seconds) == (EnforcementMode.FAIL_OPEN, 300)
    assert (await check(engine, user, timeout_seconds=TIMEOUT)).allowed
    await break_database(engine)
    answers = await decisions(engine, user, TIMEOUT)
    assert [shape(a) for a in answers] == [FAILED_OPEN, FAILED_OPEN]


async def test_the_mode_and_ttl_are_kept_when_an_update_does_not_give_them(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await update_config(
            conn,
            spend_limit_micros=5,
            period=Period.DAY,
            enforcement_mode=EnforcementMode.FAIL_CLOSED,
            reservation_ttl_seconds=60,
        )
        kept = await update_config(conn, spend_limit_micros=None, period=None)
    assert (kept.enforcement_mode, kept.reservation_ttl_seconds) == (EnforcementMode.FAIL_CLOSED, 60)


async def test_a_database_error_fails_open_by_default(
    engine: AsyncEngine, user: uuid.UUID, caplog: pytest.LogCaptureFixture
) -> None:
    await break_database(engine)
    with caplog.at_level(logging.WARNING, logger="spendlimits.limits.check"):
        answers = await decisions(engine, user, TIMEOUT)
    assert [shape(a) for a in answers] == [FAILED_OPEN, FAILED_OPEN]
    assert "chat spend reservation for user" in caplog.text and "failed open" in caplog.text


async def test_a_database_error_fails_closed_in_fail_closed_mode(
    engine: AsyncEngine, user: uuid.UUID, caplog: pytest.LogCaptureFixture
) -> None:
    await set_mode(engine, EnforcementMode.FAIL_CLOSED)
    await break_database(engine)
    with caplog.at_level(logging.WARNING, logger="spendlimits.limits.check"):
        answers = await decisions(engine, user, TIMEOUT)
    assert [shape(a) for a in answers] == [FAILED_CLOSED, FAILED_CLOSED]
    assert "failed closed" in caplog.text
    assert 'relation "chat_spend_daily_folded" does not exist' in caplog.text


async def test_a_hung_database_fails_closed_within_the_timeout(
    engine: AsyncEngine, user: uuid.UUID, blocker: asyncpg.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    await set_mode(engine, EnforcementMode.FAIL_CLOSED)
    async with blocker.transaction():
        await blocker.execute("LOCK TABLE chat_usage_limit_config IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="spendlimits.limits.check"):
            answers = await decisions(engine, user, SHORT)
        elapsed = time.monotonic() - started
    assert [shape(a) for a in answers] == [FAILED_CLOSED, FAILED_CLOSED]
    assert elapsed < 2 * SHORT + 0.6
    assert f"no answer from the database within {round(SHORT * 1000)} ms" in caplog.text
    # The abandoned attempts left nothing behind: once the lock goes, both decide normally again.
    checked, reserved = await decisions_after_recovery(engine, user)
    assert (checked.allowed, reserved.allowed) == (True, True)


async def decisions_after_recovery(engine: AsyncEngine, user: uuid.UUID) -> tuple[CheckResult, CheckResult]:
    checked = await check(engine, user, timeout_seconds=TIMEOUT)
    reserved = await reserve(engine, ReserveRequest(user_id=user, estimate_micros=1), timeout_seconds=TIMEOUT)
    assert reserved.reservation is not None
    return checked, reserved.check


async def test_a_mode_changed_by_another_process_is_learned_by_the_next_check(
    engine: AsyncEngine, user: uuid.UUID
) -> None:
    await check(engine, user, timeout_seconds=TIMEOUT)
    async with engine.begin() as conn:
        # As another process would: straight to the row, nothing remembered here.
        await conn.execute(text("UPDATE chat_usage_limit_config SET enforcement_mode = 'fail_closed'"))
    assert (await check(engine, user, timeout_seconds=TIMEOUT)).allowed
    await break_database(engine)
    assert shape(await check(engine, user, timeout_seconds=TIMEOUT)) == FAILED_CLOSED


async def test_a_process_that_never_read_the_mode_fails_open(settings: Settings) -> None:
    nowhere = create_engine("postgresql://postgres@127.0.0.1:1/never_seen", settings)
    try:
        answers = await decisions(nowhere, uuid.uuid4(), TIMEOUT)
    finally:
        await nowhere.dispose()
    assert [shape(a) for a in answers] == [FAILED_OPEN, FAILED_OPEN]
