"""The database enforces a reserve's deadline (docs/reservations.md, "Under contention"): an answer of "nothing
held" is final. A reserve sent with a deadline writes nothing once the database's clock is past it,
even when the statement was already running (the server slow or frozen), and a reserve queued behind
the user's lock for longer than its budget gives up in the database, not only in Python."""

import asyncio
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.db.engine import create_engine
from spendlimits.limits.periods import Period
from spendlimits.limits.reservations import ReserveRequest, reserve
from spendlimits.limits.status import window_params
from spendlimits.settings import Settings
from tests.conftest import plain
from tests.limits.factories import LimitFactory

USER_LOCK_CLASS = 0x53504C52


@pytest.fixture
async def user(engine: AsyncEngine) -> uuid.UUID:
    make = LimitFactory(engine)
    await make.enable(1_000_000, Period.DAY)
    org = await make.organization("acme")
    return await make.user("alice", organizations=(org,))


async def holds(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(text("SELECT count(*) FROM chat_spend_reservations")) or 0)


async def test_a_hold_that_would_commit_after_the_deadline_is_not_written(
    engine: AsyncEngine, database_url: str, user: uuid.UUID
) -> None:
    """The server is made slow on purpose between the hold and the commit (a test-only trigger
    sleeps 0.6 s): the call passed its deadline before committing, so it fails and holds nothing.
    Sent on a plain connection that never cancels, as a frozen-then-resumed server would see it."""
    conn = await asyncpg.connect(plain(database_url))
    try:
        await conn.execute(
            """
            CREATE FUNCTION test_slow() RETURNS trigger LANGUAGE plpgsql AS
            $$ BEGIN PERFORM pg_sleep(0.6); RETURN NEW; END $$;
            CREATE TRIGGER test_slow AFTER INSERT ON chat_spend_reservations
                FOR EACH ROW EXECUTE FUNCTION test_slow();
            """
        )
        now = datetime.now(UTC)
        windows = window_params([now])
        call = """
            SELECT outcome FROM spendlimits_reserve($1, NULL, NULL, 5, NULL, NULL, NULL, $2,
                                                    $3, $4, $5, $6, $7)
        """
        args = (windows["window_periods"], windows["window_first_days"], windows["window_end_days"])
        with pytest.raises(asyncpg.QueryCanceledError, match="passed its deadline"):
            await conn.fetchval(call, user, now, *args, now + timedelta(seconds=0.3), 300)
        assert await holds(engine) == 0
        # The same call with time to spare holds: the failure above was the deadline's doing.
        assert await conn.fetchval(call, user, now, *args, now + timedelta(seconds=5), 5000) == "admitted"
        assert await holds(engine) == 1
    finally:
        await conn.close()


async def test_a_call_that_arrives_after_its_deadline_writes_nothing(
    database_url: str, engine: AsyncEngine, user: uuid.UUID
) -> None:
    conn = await asyncpg.connect(plain(database_url))
    try:
        now = datetime.now(UTC)
        windows = window_params([now])
        with pytest.raises(asyncpg.QueryCanceledError, match="after its deadline"):
            await conn.fetchval(
                "SELECT outcome FROM spendlimits_reserve($1, NULL, NULL, 5, NULL, NULL, NULL, $2, $3, $4, $5, $6, 1)",
                user,
                now,
                windows["window_periods"],
                windows["window_first_days"],
                windows["window_end_days"],
                now - timedelta(milliseconds=1),
            )
    finally:
        await conn.close()
    assert await holds(engine) == 0


async def test_a_reserve_stuck_behind_the_users_lock_answers_in_time_and_never_holds_later(
    engine: AsyncEngine, database_url: str, user: uuid.UUID
) -> None:
    """Another session keeps the user's lock past the budget: the reserve answers by the enforcement
    mode within the budget, and once the lock is free, no hold appears (lock_timeout ended the
    call in the database, and the deadline would have stopped its write)."""
    blocker = await asyncpg.connect(plain(database_url))
    try:
        await blocker.execute(
            "SELECT pg_advisory_lock($1, hashtext($2::uuid::text))", USER_LOCK_CLASS, str(user)
        )
        started = time.monotonic()
        reserved = await reserve(engine, ReserveRequest(user_id=user, estimate_micros=5), timeout_seconds=0.3)
        elapsed = time.monotonic() - started
        assert reserved.reservation is None and reserved.check.failed_open
        assert elapsed < 0.6
        await asyncio.sleep(0.5)
        await blocker.execute(
            "SELECT pg_advisory_unlock($1, hashtext($2::uuid::text))", USER_LOCK_CLASS, str(user)
        )
        await asyncio.sleep(0.5)
        assert await holds(engine) == 0
        waiting = await blocker.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%spendlimits_reserve%' AND state = 'active'"
            " AND pid <> pg_backend_pid()"
        )
        assert waiting == 0
    finally:
        await blocker.close()
    # Free again: the same reserve holds.
    assert (
        await reserve(engine, ReserveRequest(user_id=user, estimate_micros=5), timeout_seconds=1.0)
    ).reservation is not None


async def test_a_reserve_abandoned_while_waiting_for_the_pool_stops_waiting_at_its_deadline(
    database_url: str, settings: Settings, user: uuid.UUID
) -> None:
    """Every pooled connection busy, as when a frozen database holds them all: the reserve answers
    by the enforcement mode in its budget, and stops waiting for the pool at its deadline too. It
    used to stay queued for the pool's own 30 s and, once a connection came free, run a statement
    the database could only refuse, ahead of fresh requests (issue #10: after a thaw)."""
    engine = create_engine(database_url, replace(settings, pool_size=1, pool_max_overflow=0))
    checkouts = 0

    def counted(*_: object) -> None:
        nonlocal checkouts
        checkouts += 1

    try:
        async with engine.connect() as busy:
            await busy.execute(text("SELECT 1"))
            started = time.monotonic()
            reserved = await reserve(
                engine, ReserveRequest(user_id=user, estimate_micros=5), timeout_seconds=0.3
            )
            assert reserved.reservation is None and reserved.check.failed_open
            assert time.monotonic() - started < 0.6
            await asyncio.sleep(0.3)
            event.listen(engine.sync_engine.pool, "checkout", counted)
        # The connection is free again: nothing abandoned takes it.
        await asyncio.sleep(0.3)
        assert checkouts == 0
        assert (
            await reserve(engine, ReserveRequest(user_id=user, estimate_micros=5), timeout_seconds=1.0)
        ).reservation is not None
        assert checkouts == 1
    finally:
        await engine.dispose()
