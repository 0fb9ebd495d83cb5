"""Real `spendlimits serve` processes on one database: a change made through any process reaches
subscribers on every process, for many subscribers at once, and survives the loss of the listener.
"""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.auth.principal import Service
from spendlimits.limits.periods import Period
from tests.conftest import make_token
from tests.limits.factories import LimitFactory
from tests.live.test_socket import token_for
from tests.live.wsclient import LiveClient, subscribed
from tests.reliability.service import RECORD, Client, Server

pytestmark = pytest.mark.slow

LIMIT = 1_000_000_000


@pytest.fixture
async def processes(database_url: str, tmp_path: Path) -> AsyncIterator[Callable[[int], Any]]:
    servers: list[Server] = []

    async def start(count: int) -> list[Server]:
        started = [Server(database_url=database_url, log=tmp_path / f"server-{i}.log") for i in range(count)]
        servers.extend(started)
        await asyncio.gather(*(server.start() for server in started))
        return started

    yield start
    for server in servers:
        server.stop()


async def scene(engine: AsyncEngine, users: int) -> tuple[list[uuid.UUID], list[uuid.UUID], list[str], str]:
    """Limits on; ``users`` users with a chat and a token each; the daemon's token."""
    make = LimitFactory(engine)
    await make.enable(LIMIT, Period.MONTH)
    org = await make.organization("acme")
    ids, chats, tokens = [], [], []
    for i in range(users):
        user = await make.user(f"user{i}", organizations=(org,))
        ids.append(user)
        chats.append(await make.chat(user, org))
        tokens.append(await token_for(engine, user))
    return ids, chats, tokens, await make_token(engine, service=Service.CHATD)


async def record(server: Server, chatd: str, chat: uuid.UUID, cost: int) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=15) as http:
        data = await Client(http, chatd).data(
            RECORD, {"input": {"chatId": str(chat), "role": "ASSISTANT", "totalCostMicros": cost}}
        )
    assert data["recordChatMessage"]["errors"] == []


async def test_a_message_recorded_through_b_reaches_a_subscriber_on_a(
    engine: AsyncEngine, processes: Any
) -> None:
    a, b = await processes(2)
    _, chats, tokens, chatd = await scene(engine, 1)
    async with subscribed(a.url, tokens[0]) as (client, first):
        assert first["currentSpendMicros"] == 0
        sent = time.monotonic()
        await record(b, chatd, chats[0], 1234)
        status = await client.next_status(within=1.0)
        assert status["currentSpendMicros"] == 1234
        assert time.monotonic() - sent < 1.0


async def test_200_subscribers_on_one_process_all_receive(engine: AsyncEngine, processes: Any) -> None:
    a, b = await processes(2)
    _, chats, tokens, chatd = await scene(engine, 20)
    async with AsyncExitStack() as stack:
        clients: list[tuple[int, LiveClient]] = []
        for i in range(200):
            # 10 subscribers per user, 20 users: the fan-out is per user and per subscriber.
            client, first = await stack.enter_async_context(subscribed(a.url, tokens[i % 20]))
            assert first["currentSpendMicros"] == 0
            clients.append((i % 20, client))
        await asyncio.gather(*(record(b, chatd, chats[u], 100 + u) for u in range(20)))
        statuses = await asyncio.gather(*(client.next_status(within=5) for _, client in clients))
        assert [s["currentSpendMicros"] for s in statuses] == [100 + u for u, _ in clients]


async def test_a_killed_listener_comes_back_and_no_change_is_lost(
    engine: AsyncEngine, processes: Any
) -> None:
    a, b = await processes(2)
    _, chats, tokens, chatd = await scene(engine, 1)

    async def listener_pid() -> int | None:
        async with engine.connect() as conn:
            pid: int | None = await conn.scalar(
                text(
                    "SELECT pid FROM pg_stat_activity WHERE application_name = 'spendlimits-live' "
                    "AND datname = current_database() AND pid <> ALL(:others) LIMIT 1"
                ),
                {"others": list(others)},
            )
            return pid

    others: set[int] = set()
    async with subscribed(a.url, tokens[0]) as (client, _):
        async with engine.connect() as conn:
            listeners = (
                (
                    await conn.execute(
                        text(
                            "SELECT pid FROM pg_stat_activity WHERE application_name = 'spendlimits-live' "
                            "AND datname = current_database()"
                        )
                    )
                )
                .scalars()
                .all()
            )
        assert len(listeners) == 2, "one listening connection per process"
        async with engine.begin() as conn:
            for pid in listeners:
                assert await conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        others = set(listeners)
        # Made while the listeners are down: the notification is lost, the resync is not.
        await record(b, chatd, chats[0], 500)
        assert (await client.next_status(within=10))["currentSpendMicros"] == 500
        for _ in range(100):
            if (await listener_pid()) is not None:
                break
            await asyncio.sleep(0.1)
        assert await listener_pid() is not None, "the listener connected again"
        await record(b, chatd, chats[0], 250)
        assert (await client.next_status(within=2))["currentSpendMicros"] == 750
    assert "reconnected" in a.log_text()


async def test_a_killed_process_leaves_no_watch_behind(engine: AsyncEngine, processes: Any) -> None:
    """kill -9 of a process with subscribers: its rows in live_watches are pruned by the other
    process's probe, and writes for its users stop notifying."""
    a, b = await processes(2)
    users, chats, tokens, chatd = await scene(engine, 2)

    async def watches() -> list[tuple[uuid.UUID, int]]:
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT user_id, listener_pid FROM live_watches"))
            return sorted((row.user_id, row.listener_pid) for row in rows)

    async with AsyncExitStack() as on_a, subscribed(b.url, tokens[1]) as (on_b, _):
        await on_a.enter_async_context(subscribed(a.url, tokens[0]))
        rows = await watches()
        assert [user for user, _ in rows] == sorted(users), "each process watches its subscriber's user"
        a_pid = next(pid for user, pid in rows if user == users[0])
        a.kill()
        for _ in range(100):  # b's listener prunes at its next probe, every 5 s
            if len(await watches()) < len(rows):
                break
            await asyncio.sleep(0.1)
        assert await watches() == [(user, pid) for user, pid in rows if pid != a_pid]
        # b's subscriber is still served.
        await record(b, chatd, chats[1], 300)
        assert (await on_b.next_status(within=2))["currentSpendMicros"] == 300
        # The killed process's socket is gone: closing it must not fail the test.
        on_a.pop_all()
