"""The strict guarantee under real concurrency: several server processes on one database, many
daemons racing reserve -> settle (or release) cycles for one user.

What must hold (docs/design.md), with every actual cost <= its estimate:
- settled spend never exceeds the limit;
- every admitted reservation ends SETTLED or RELEASED, and each settled one has exactly one message,
  even when its settle is sent twice at once (each copy to a random process);
- no needless refusals: each daemon stops only at a refusal that the server made with nothing held,
  which proves spend + estimate > limit. So at the end, limit - MAX_ESTIMATE < spend <= limit.
"""

import asyncio
import os
import random
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.auth.principal import Service
from spendlimits.limits.enforcement import EnforcementMode
from spendlimits.limits.periods import Period
from tests.conftest import make_token
from tests.limits.factories import LimitFactory

pytestmark = pytest.mark.slow

SERVERS = 3
DAEMONS = 24
LIMIT = 200_000
MAX_ESTIMATE = 2_000
#: A share of admitted calls "fail" and are released instead of settled.
RELEASE_SHARE = 0.1
#: A share of settles is sent twice at once: a retry racing the original, on any process.
DUPLICATE_SETTLE_SHARE = 0.2
#: A daemon that has gone round this often without being finished means something is wrong.
MAX_ROUNDS_PER_DAEMON = 2000

RESERVE = """
mutation ($input: ReserveChatSpendInput!) {
  reserveChatSpend(input: $input) {
    reservation { id }
    check { allowed failedOpen failedClosed status { heldMicros currentSpendMicros spendLimitMicros } }
    errors { code }
  }
}
"""
SETTLE = """
mutation ($input: SettleChatSpendInput!) {
  settleChatSpend(input: $input) { message { id totalCostMicros } replayed errors { code } }
}
"""
RELEASE = """
mutation ($id: ID!) { releaseChatSpend(input: {reservationId: $id}) { reservation { state } errors { code } } }
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    log: Path


def start_server(database_url: str, log: Path) -> Server:
    port = free_port()
    env = os.environ | {
        "DATABASE_URL": database_url,
        # Generous: the point is the race, not the deadline. A decision that still cannot be
        # evaluated fails closed (set below), and the test counts it as a failure.
        "SPENDLIMITS_CHECK_TIMEOUT_MS": "60000",
        "SPENDLIMITS_STATEMENT_TIMEOUT_MS": "60000",
        "SPENDLIMITS_DB_POOL_SIZE": "5",
        "SPENDLIMITS_DB_POOL_MAX_OVERFLOW": "5",
        "SPENDLIMITS_LOG_LEVEL": "WARNING",
    }
    # The child keeps its own copy of the descriptor; ours is closed as soon as it has started.
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [
                sys.executable,
                "-m",
                "uvicorn",
                "spendlimits.app:app_from_env",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                # Longer than any pause in the test, so the server never closes a connection the
                # client is about to reuse.
                "--timeout-keep-alive",
                "120",
            ],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    return Server(process=process, url=f"http://127.0.0.1:{port}", log=log)


async def wait_until_up(http: httpx.AsyncClient, server: Server) -> None:
    """Polls /healthz: readiness, not timing; gives up after a generous bound."""
    for _ in range(600):
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.log.read_text()}")
        try:
            if (await http.get(f"{server.url}/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.05)
    raise RuntimeError(f"server did not come up:\n{server.log.read_text()}")


def stop(servers: list[Server]) -> None:
    for server in servers:
        server.process.terminate()
    for server in servers:
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


@pytest.fixture
def server_processes(database_url: str, tmp_path: Path) -> Iterator[list[Server]]:
    servers = [start_server(database_url, tmp_path / f"server{i}.log") for i in range(SERVERS)]
    try:
        yield servers
    finally:
        stop(servers)


@dataclass
class Tally:
    admitted: dict[str, int] = field(default_factory=dict)
    settled: dict[str, tuple[str, int]] = field(default_factory=dict)
    released: set[str] = field(default_factory=set)
    refusals: int = 0
    undecidable: list[dict[str, Any]] = field(default_factory=list)
    duplicate_settles: int = 0


@pytest.fixture
async def scene(engine: AsyncEngine) -> dict[str, Any]:
    make = LimitFactory(engine)
    await make.enable(LIMIT, Period.MONTH)
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE chat_usage_limit_config SET enforcement_mode = :mode"),
            {"mode": EnforcementMode.FAIL_CLOSED.value},
        )
    org = await make.organization("acme")
    user = await make.user("alice", organizations=(org,))
    return {
        "user": str(user),
        "org": str(org),
        "chat": str(await make.chat(user, org)),
        "token": await make_token(engine, service=Service.CHATD),
    }


#: Transport failures (a connection reset under load) are retried, with the same input, on another
#: process: what a daemon does, and what the idempotency of every call here makes safe.
ATTEMPTS = 5


async def post(
    http: httpx.AsyncClient, urls: list[str], rng: random.Random, query: str, variables: dict[str, Any]
) -> tuple[dict[str, Any], bool]:
    """The data of a response without errors, and whether it took a retry to get it."""
    for attempt in range(ATTEMPTS):
        try:
            response = await http.post(
                f"{rng.choice(urls)}/graphql", json={"query": query, "variables": variables}
            )
        except httpx.TransportError:
            if attempt == ATTEMPTS - 1:
                raise
            continue
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert not body.get("errors"), body["errors"]
        data: dict[str, Any] = body["data"]
        return data, attempt > 0
    raise AssertionError("unreachable")


async def daemon(
    name: str,
    http: httpx.AsyncClient,
    urls: list[str],
    scene: dict[str, Any],
    rng: random.Random,
    tally: Tally,
) -> None:
    """One chat daemon: reserve an estimate, run the 'call', settle its actual cost or release."""
    for round_number in range(MAX_ROUNDS_PER_DAEMON):
        estimate = rng.randint(1, MAX_ESTIMATE)
        reserve_input = {
            "userId": scene["user"],
            "organizationId": scene["org"],
            "estimateMicros": estimate,
            "idempotencyKey": f"{name}-{round_number}",
        }
        reserved = (await post(http, urls, rng, RESERVE, {"input": reserve_input}))[0]["reserveChatSpend"]
        assert reserved["errors"] == []
        check = reserved["check"]
        if check["failedOpen"] or check["failedClosed"]:
            tally.undecidable.append(check)
            return
        if reserved["reservation"] is None:
            tally.refusals += 1
            status = check["status"]
            if status["heldMicros"] == 0:
                # Nothing in flight: spend + estimate > limit, so the budget really is used up.
                assert status["currentSpendMicros"] + estimate > status["spendLimitMicros"]
                return
            continue
        reservation_id = reserved["reservation"]["id"]
        tally.admitted[reservation_id] = estimate
        if rng.random() < RELEASE_SHARE:
            data, retried = await post(http, urls, rng, RELEASE, {"id": reservation_id})
            released = data["releaseChatSpend"]
            # A retry of a release that did land finds it no longer held.
            assert released == {"reservation": {"state": "RELEASED"}, "errors": []} or (
                retried and released["errors"] == [{"code": "RESERVATION_NOT_HELD"}]
            ), released
            tally.released.add(reservation_id)
            continue
        actual = rng.randint(0, estimate)
        settle = {
            "input": {
                "reservationId": reservation_id,
                "message": {"chatId": scene["chat"], "role": "ASSISTANT", "totalCostMicros": actual},
            }
        }
        copies = 2 if rng.random() < DUPLICATE_SETTLE_SHARE else 1
        answers = await asyncio.gather(*(post(http, urls, rng, SETTLE, settle) for _ in range(copies)))
        payloads = [data["settleChatSpend"] for data, _ in answers]
        assert all(p["errors"] == [] for p in payloads), payloads
        assert len({p["message"]["id"] for p in payloads}) == 1
        # Exactly one copy recorded the message, unless a lost answer made it a replay too.
        assert sum(not p["replayed"] for p in payloads) <= 1
        assert sum(not p["replayed"] for p in payloads) == 1 or any(retried for _, retried in answers)
        tally.duplicate_settles += copies - 1
        tally.settled[reservation_id] = (payloads[0]["message"]["id"], actual)
    raise AssertionError(f"a daemon was still being admitted after {MAX_ROUNDS_PER_DAEMON} rounds")


async def test_concurrent_daemons_on_several_processes_never_overspend(
    server_processes: list[Server], scene: dict[str, Any], engine: AsyncEngine
) -> None:
    seed = random.randrange(2**32)
    print(f"seed {seed}")
    tally = Tally()
    headers = {"Authorization": f"Bearer {scene['token']}"}
    limits = httpx.Limits(max_connections=DAEMONS * 2, max_keepalive_connections=DAEMONS * 2)
    async with httpx.AsyncClient(headers=headers, timeout=120, limits=limits) as http:
        for server in server_processes:
            await wait_until_up(http, server)
        urls = [s.url for s in server_processes]
        rngs = [random.Random(seed + i) for i in range(DAEMONS)]
        await asyncio.gather(*(daemon(f"d{i}", http, urls, scene, rng, tally) for i, rng in enumerate(rngs)))

    assert tally.undecidable == []
    async with engine.connect() as conn:
        spent = int(
            await conn.scalar(text("SELECT coalesce(sum(total_cost_micros), 0) FROM chat_messages")) or 0
        )
        messages = int(await conn.scalar(text("SELECT count(*) FROM chat_messages")) or 0)
        states: dict[str, int] = dict(
            (
                await conn.execute(text("SELECT state, count(*) FROM chat_spend_reservations GROUP BY state"))
            ).all()
        )
        rolled_up = int(
            await conn.scalar(text("SELECT coalesce(sum(spend_micros), 0) FROM chat_spend_daily")) or 0
        )
    print(
        f"admitted {len(tally.admitted)}, settled {len(tally.settled)} (+{tally.duplicate_settles} duplicate "
        f"settles), released {len(tally.released)}, refused {tally.refusals}; spent {spent} of {LIMIT}"
    )
    # The guarantee.
    assert spent <= LIMIT
    # No needless refusals: the last daemon stopped with nothing held and spend + estimate > limit.
    assert spent > LIMIT - MAX_ESTIMATE
    # Every admitted call was settled (once) or released; nothing is left holding budget.
    assert len(tally.admitted) > 200
    assert set(tally.admitted) == set(tally.settled) | tally.released
    assert states == {"settled": len(tally.settled), "released": len(tally.released)}
    assert messages == len(tally.settled)
    assert spent == rolled_up == sum(actual for _, actual in tally.settled.values())
