"""The hub and the listener against a real PostgreSQL: triggers, fan-out, period rollover, resync."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.limits.periods import Period
from spendlimits.live.hub import Hub
from spendlimits.live.notify import CHANNEL, Listener
from spendlimits.live.service import engine_dsn, listener_dsn
from spendlimits.live.watches import Watches
from spendlimits.settings import Settings
from tests.limits.factories import LimitFactory

LIMIT = 1_000_000


class FakeClock:
    """A clock that moves only when told; sleepers wake when it passes their time."""

    def __init__(self, now: datetime) -> None:
        self._now = now
        self._moved = asyncio.Event()

    def now(self) -> datetime:
        return self._now

    def advance_to(self, when: datetime) -> None:
        self._now = when
        self._moved.set()

    async def sleep_until(self, when: datetime | None, wake: asyncio.Event) -> None:
        while not wake.is_set() and (when is None or self._now < when):
            self._moved.clear()
            waits = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(self._moved.wait())]
            _, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()


@pytest.fixture
async def hub(engine: AsyncEngine) -> AsyncIterator[Hub]:
    hub = Hub(engine, min_interval_seconds=0)
    yield hub
    await hub.close()


async def test_period_rollover_without_any_write(engine: AsyncEngine) -> None:
    make = LimitFactory(engine)
    await make.enable(LIMIT, Period.DAY)
    org = await make.organization("acme")
    user = await make.user("alice", organizations=(org,))
    day = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)
    await make.spend(user, org, 400, at=day)
    clock = FakeClock(day)
    hub = Hub(engine, min_interval_seconds=0, clock=clock)
    try:
        async with hub.subscribe(user, None) as feed:
            first = await anext(feed)
            assert (first.spend_micros, first.period_end) == (400, datetime(2026, 3, 15, tzinfo=UTC))
            # A second before the end: nothing.
            clock.advance_to(datetime(2026, 3, 14, 23, 59, 59, tzinfo=UTC))
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(anext(feed), 0.3)
            clock.advance_to(datetime(2026, 3, 15, 0, 0, 0, 1, tzinfo=UTC))
            rolled = await asyncio.wait_for(anext(feed), 2)
            assert rolled.spend_micros == 0
            assert rolled.period_start == datetime(2026, 3, 15, tzinfo=UTC)
            assert rolled.period_end == datetime(2026, 3, 16, tzinfo=UTC)
    finally:
        await hub.close()


async def live_connection(engine: AsyncEngine) -> asyncpg.Connection:
    # Named like a server process's listener, so that pruning keeps the rows it watches.
    return await asyncpg.connect(engine_dsn(engine), server_settings={"application_name": "spendlimits-live"})


async def listen(engine: AsyncEngine) -> tuple[asyncpg.Connection, asyncio.Queue[str]]:
    heard: asyncio.Queue[str] = asyncio.Queue()
    conn = await live_connection(engine)
    await conn.add_listener(CHANNEL, lambda *args: heard.put_nowait(args[3]))
    return conn, heard


async def watch(conn: asyncpg.Connection, *users: uuid.UUID) -> None:
    """Watches the users as a server process would, keyed by this connection's pid."""
    await conn.execute(
        "INSERT INTO live_watches (user_id, listener_pid) SELECT unnest($1::uuid[]), pg_backend_pid()",
        list(users),
    )


async def heard_within(heard: "asyncio.Queue[str]") -> set[str]:
    """Everything notified so far (the notifications of a committed write arrive before its reply)."""
    await asyncio.sleep(0.2)
    payloads = set()
    while not heard.empty():
        payloads.add(heard.get_nowait())
    return payloads


async def test_triggers_name_the_users_each_write_touches(engine: AsyncEngine) -> None:
    make = LimitFactory(engine)
    org = await make.organization("acme")
    alice = await make.user("alice", organizations=(org,))
    bob = await make.user("bob", organizations=(org,))
    chat = await make.chat(alice, org)
    conn, heard = await listen(engine)
    await watch(conn, alice, bob)
    try:
        await make.message(chat, None)
        assert await heard_within(heard) == set(), "an unpriced message changes no spend"
        await make.message(chat, 10)
        assert await heard_within(heard) == {str(alice)}
        await make.user_override(bob, 5)
        assert await heard_within(heard) == {str(bob)}
        team = await make.group(org, "team", members=(alice,))
        assert await heard_within(heard) == {str(alice)}
        await make.group_override(team, 7)
        assert await heard_within(heard) == {str(alice)}
        await make.group_override(org, 9)  # the Everyone group: every member
        assert {frozenset(p.split(",")) for p in await heard_within(heard)} == {
            frozenset({str(alice), str(bob)})
        }
        await make.enable(LIMIT)
        assert await heard_within(heard) == {"*"}
        async with engine.begin() as tx:
            await tx.execute(text("UPDATE chat_messages SET deleted = true"))
        assert await heard_within(heard) == set(), "soft deletion keeps the spend"
        async with engine.begin() as tx:
            await tx.execute(
                text(
                    "INSERT INTO chat_spend_reservations (user_id, amount_micros, expires_at) "
                    "VALUES (:u, 5, now() + interval '1 minute')"
                ),
                {"u": bob},
            )
        assert await heard_within(heard) == {str(bob)}
    finally:
        await conn.close()


async def alice_with_a_chat(engine: AsyncEngine) -> tuple[LimitFactory, uuid.UUID, uuid.UUID, uuid.UUID]:
    """Limits on; one organization, its user alice and her chat."""
    make = LimitFactory(engine)
    await make.enable(LIMIT)
    org = await make.organization("acme")
    user = await make.user("alice", organizations=(org,))
    return make, org, user, await make.chat(user, org)


def wired(
    engine: AsyncEngine, probe_seconds: float = 5.0, settle_seconds: float = 2.0
) -> tuple[Hub, Listener]:
    """A hub and its listener, registering watches as LiveStatus wires them; the listener started."""
    hub = Hub(engine, min_interval_seconds=0)
    listener = Listener(
        engine_dsn(engine),
        hub.changed,
        probe_seconds=probe_seconds,
        watched=hub.watched_users,
        settle_seconds=settle_seconds,
    )
    hub.watches = Watches(engine, lambda: listener.backend_pid, settle_seconds=settle_seconds)
    listener.start()
    return hub, listener


async def watched_users(engine: AsyncEngine) -> set[tuple[uuid.UUID, int]]:
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT user_id, listener_pid FROM live_watches"))
        return {(row.user_id, row.listener_pid) for row in rows}


async def test_no_notification_for_an_unwatched_user(engine: AsyncEngine) -> None:
    make = LimitFactory(engine)
    org = await make.organization("acme")
    alice = await make.user("alice", organizations=(org,))
    bob = await make.user("bob", organizations=(org,))
    chat = await make.chat(alice, org)
    conn, heard = await listen(engine)
    try:
        await make.message(chat, 10)
        await make.user_override(bob, 5)
        await make.group(org, "team", members=(alice, bob))
        await make.group_override(org, 9)
        assert await heard_within(heard) == set(), "nobody watches: no NOTIFY at all"
        await watch(conn, bob)
        await make.message(chat, 10)
        assert await heard_within(heard) == set(), "alice is still unwatched"
        await make.group_override(org, 11)  # both are members: only the watched one is named
        assert await heard_within(heard) == {str(bob)}
        await make.enable(LIMIT)
        assert await heard_within(heard) == {"*"}, "configuration changes stay broadcasts"
    finally:
        await conn.close()


async def test_a_subscriber_registers_its_user_and_the_last_to_leave_removes_it(engine: AsyncEngine) -> None:
    make, org, user, chat = await alice_with_a_chat(engine)
    conn, heard = await listen(engine)
    hub, listener = wired(engine)
    try:
        await asyncio.wait_for(listener.connected.wait(), 5)
        async with hub.subscribe(user, None) as one:
            assert await watched_users(engine) == {(user, listener.backend_pid)}
            async with hub.subscribe(user, org) as two:
                await anext(one), await anext(two)
                await make.message(chat, 10)
                assert await heard_within(heard) == {str(user)}
                got = await asyncio.wait_for(asyncio.gather(anext(one), anext(two)), 2)
                assert [s.spend_micros for s in got] == [10, 10]
            assert await watched_users(engine) == {(user, listener.backend_pid)}, "one subscriber left"
        for _ in range(100):
            if not await watched_users(engine):
                break
            await asyncio.sleep(0.02)
        assert await watched_users(engine) == set()
        await make.message(chat, 10)
        assert await heard_within(heard) == set()
    finally:
        await listener.close()
        await hub.close()
        await conn.close()


async def test_a_write_in_flight_while_subscribing_still_arrives(engine: AsyncEngine) -> None:
    """The write's trigger ran before the watch existed (no NOTIFY); its commit comes after the
    subscriber's watch. The first status must wait for it, or a later event must bring it."""
    _make, _org, user, chat = await alice_with_a_chat(engine)
    hub, listener = wired(engine)
    writer = await asyncpg.connect(engine_dsn(engine))
    try:
        await asyncio.wait_for(listener.connected.wait(), 5)
        tx = writer.transaction()
        await tx.start()
        await writer.execute(
            "INSERT INTO chat_messages (chat_id, role, total_cost_micros) VALUES ($1, 'assistant', 25)", chat
        )
        async with hub.subscribe(user, None) as feed:
            first = asyncio.ensure_future(anext(feed))
            await asyncio.sleep(0.3)
            await tx.commit()
            seen = [(await asyncio.wait_for(first, 3)).spend_micros]
            while seen[-1] != 25:
                seen.append((await asyncio.wait_for(anext(feed), 3)).spend_micros)
            assert seen[-1] == 25
    finally:
        await writer.close()
        await listener.close()
        await hub.close()


async def test_watches_of_a_dead_process_are_pruned(engine: AsyncEngine) -> None:
    make = LimitFactory(engine)
    org = await make.organization("acme")
    user = await make.user("alice", organizations=(org,))
    chat = await make.chat(user, org)
    # A process that registered its user and died: its LISTEN connection's backend is gone.
    dead = await live_connection(engine)
    await watch(dead, user)
    dead_pid = dead.get_server_pid()
    # A live one is kept.
    conn, heard = await listen(engine)
    async with engine.begin() as tx:
        await tx.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": dead_pid})
    dead.terminate()
    assert {pid for _, pid in await watched_users(engine)} == {dead_pid}
    hub, listener = wired(engine, probe_seconds=0.3)
    try:
        await asyncio.wait_for(listener.connected.wait(), 5)
        assert await watched_users(engine) == set(), "pruned when a listener connects"
        await watch(conn, user)
        # A process that dies while this one runs: pruned at the next probe.
        again = await live_connection(engine)
        await watch(again, user)
        await again.close()
        for _ in range(50):
            if len(await watched_users(engine)) == 1:
                break
            await asyncio.sleep(0.1)
        assert {pid for _, pid in await watched_users(engine)} == {conn.get_server_pid()}
        await make.message(chat, 10)
        assert await heard_within(heard) == {str(user)}
    finally:
        await listener.close()
        await hub.close()
        await conn.close()


async def test_listener_hears_commits_and_comes_back_after_being_killed(engine: AsyncEngine) -> None:
    make, _org, user, chat = await alice_with_a_chat(engine)
    hub, listener = wired(engine, probe_seconds=0.5)
    try:
        await asyncio.wait_for(listener.connected.wait(), 5)
        async with hub.subscribe(user, None) as feed:
            assert (await anext(feed)).spend_micros == 0
            await make.message(chat, 10)
            assert (await asyncio.wait_for(anext(feed), 2)).spend_micros == 10

            killed = listener.backend_pid
            async with engine.begin() as tx:
                assert await tx.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": killed})
            # Written while nobody listens (most likely): its notification is lost for good.
            await make.message(chat, 20)
            assert (await asyncio.wait_for(anext(feed), 5)).spend_micros == 30
            assert listener.connections >= 2
            assert listener.backend_pid not in (None, killed)
            await make.message(chat, 40)
            assert (await asyncio.wait_for(anext(feed), 2)).spend_micros == 70
    finally:
        await listener.close()
        await hub.close()


async def test_one_read_serves_every_subscriber_of_a_user(engine: AsyncEngine, hub: Hub) -> None:
    make, _org, user, chat = await alice_with_a_chat(engine)
    async with hub.subscribe(user, None) as one, hub.subscribe(user, None) as two:
        await anext(one), await anext(two)
        await make.message(chat, 10)
        hub.changed({user, uuid.uuid4()})
        got = await asyncio.wait_for(asyncio.gather(anext(one), anext(two)), 2)
        assert [s.spend_micros for s in got] == [10, 10]
        assert hub.reads == 1
    assert hub.subscribers == 0


async def test_a_status_is_never_older_than_the_one_sent(engine: AsyncEngine, hub: Hub) -> None:
    make = LimitFactory(engine)
    await make.enable(LIMIT)
    org = await make.organization("acme")
    user = await make.user("alice", organizations=(org,))
    async with hub.subscribe(user, None) as feed:
        first = await anext(feed)
        stale = first.__class__(
            limit=first.limit, spend_micros=999, period_start=first.period_start, period_end=first.period_end
        )
        # A read that started before the first one delivers late: it must be dropped.
        feed.offer(stale, as_of=float("-inf"))
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(anext(feed), 0.2)
        # The same status read later is news.
        feed.offer(stale, as_of=asyncio.get_running_loop().time())
        assert (await anext(feed)).spend_micros == 999


def test_no_listener_through_a_transaction_mode_pooler(engine: AsyncEngine, settings: Settings) -> None:
    """A LISTEN through a transaction-mode pooler hears nothing: the listener needs its own URL."""
    pooled = replace(settings, db_pooler="transaction")
    assert listener_dsn(engine, pooled) is None
    direct = "postgresql+asyncpg://postgres@127.0.0.1:5432/somewhere"
    chosen = listener_dsn(engine, replace(pooled, live=replace(pooled.live, database_url=direct)))
    assert chosen == "postgresql://postgres@127.0.0.1:5432/somewhere"
    assert listener_dsn(engine, settings) == engine_dsn(engine)
