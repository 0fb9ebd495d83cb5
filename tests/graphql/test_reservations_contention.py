"""Decisions under contention (docs/reservations.md, "Under contention"), against real server processes.

Many sub-agents of ONE user reserve -> settle at once, over two `spendlimits serve` processes:
- a healthy database never gets an answer from the enforcement mode (waiting for the user's lock is
  normal work and fits in the 1 s budget at 64 concurrent reserves);
- nothing stays held, settled spend <= limit, and the admitted total is within one estimate of the
  limit once the limit is reached;
- with PostgreSQL frozen (SIGSTOP) mid-run and resumed, every reserve is answered within its budget
  (inside the server, by its Server-Timing, and at probes sent from a process that is not the load
  generator) and no hold exists that an answer said was not made (the reliability suite's own
  PostgreSQL).

Every actual cost equals its estimate, so "admitted" and "settled" totals are the same figure.
"""

import asyncio
import contextlib
import multiprocessing
import os
import random
import re
import signal
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.auth.principal import Service
from spendlimits.db.engine import create_engine
from spendlimits.limits.enforcement import EnforcementMode
from spendlimits.limits.periods import Period
from spendlimits.settings import Settings
from tests.conftest import make_token
from tests.limits.factories import LimitFactory
from tests.reliability.conftest import postgres  # noqa: F401 - the reliability suite's own PostgreSQL
from tests.reliability.postgres import Postgres
from tests.reliability.service import Server

CLIENTS = 64
CYCLES = 320
LIMIT = 1_000_000
ESTIMATES = (1_000, 6_000)
BUDGET_S = 1.0

RESERVE = """
mutation Reserve($input: ReserveChatSpendInput!) {
  reserveChatSpend(input: $input) {
    reservation { id }
    check { allowed failedOpen failedClosed exceeded { spentMicros heldMicros limitMicros } }
    errors { code }
  }
}
"""
SETTLE = """
mutation Settle($input: SettleChatSpendInput!) {
  settleChatSpend(input: $input) { message { id } errors { code } }
}
"""


@dataclass
class Run:
    """What the clients saw."""

    admitted: dict[str, int] = field(default_factory=dict)
    refused: int = 0
    #: Answers from the enforcement mode (failedOpen / failedClosed) or a 503: nothing held.
    fallbacks: int = 0
    unavailable: int = 0
    #: Seconds from sending a reserve to its answer.
    reserve_s: list[float] = field(default_factory=list)
    #: The same reserves' time inside the server (its Server-Timing header).
    served_s: list[float] = field(default_factory=list)


_SERVER_TIMING = re.compile(r"app;dur=([0-9.]+)")


def served_s(response: httpx.Response) -> float:
    """The server's own time for a request, from reaching the application to its answer (Server-Timing)."""
    found = _SERVER_TIMING.search(response.headers.get("server-timing", ""))
    assert found, response.headers
    return float(found[1]) / 1000


async def scene(engine: AsyncEngine, mode: EnforcementMode = EnforcementMode.FAIL_CLOSED) -> dict[str, str]:
    """One user with one chat, limited to LIMIT a month; a chat daemon's token."""
    make = LimitFactory(engine)
    await make.enable(LIMIT, Period.MONTH)
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE chat_usage_limit_config SET enforcement_mode = :mode"), {"mode": mode.value}
        )
    org = await make.organization("acme")
    user = await make.user("alice", organizations=(org,))
    return {
        "user": str(user),
        "chat": str(await make.chat(user, org)),
        "token": await make_token(engine, service=Service.CHATD),
    }


CHECK = "query ($user: ID!) { chatUsageLimitCheck(userId: $user) { allowed } }"


async def warm(http: httpx.AsyncClient, urls: list[str], seen: dict[str, str]) -> None:
    """Steady state first: each process opens its pool and verifies the token once (checks, which
    hold nothing). A cold process spends its first second opening connections; that is start-up,
    not contention, and RELIABILITY.md gives its figure separately."""
    for _ in range(3):
        await asyncio.gather(
            *(
                http.post(f"{url}/graphql", json={"query": CHECK, "variables": {"user": seen["user"]}})
                for url in urls
                for _ in range(10)
            )
        )


async def cycles(
    urls: list[str],
    seen: dict[str, str],
    *,
    clients: int,
    total: int,
    seed: int = 1,
    warm_up: bool = True,
    run: Run | None = None,
) -> Run:
    """``total`` reserve -> settle cycles for one user from ``clients`` concurrent daemons."""
    run = run or Run()
    queue = list(range(total))
    headers = {"Authorization": f"Bearer {seen['token']}"}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=httpx.Timeout(30.0), headers=headers, limits=limits) as http:
        if warm_up:
            await warm(http, urls, seen)

        async def daemon(n: int) -> None:
            rng = random.Random(seed * 1000 + n)
            while queue:
                queue.pop()
                await cycle(http, rng.choice(urls), rng, seen, run)

        await asyncio.gather(*(daemon(n) for n in range(clients)))
    return run


async def cycle(
    http: httpx.AsyncClient, url: str, rng: random.Random, seen: dict[str, str], run: Run
) -> None:
    estimate = rng.randrange(*ESTIMATES)
    # Keyed, as a daemon should: a reserve whose answer was lost (a reset connection) is sent again
    # and gets the same reservation back, so no hold is ever made without an answer that says so.
    key = f"cycle-{rng.getrandbits(64):016x}"
    variables = {"input": {"userId": seen["user"], "estimateMicros": estimate, "idempotencyKey": key}}
    for attempt in range(5):
        started = time.monotonic()
        try:
            response = await http.post(f"{url}/graphql", json={"query": RESERVE, "variables": variables})
            break
        except httpx.TransportError:
            if attempt == 4:
                raise
    run.reserve_s.append(time.monotonic() - started)
    run.served_s.append(served_s(response))
    if response.status_code == 503:
        run.unavailable += 1
        return
    assert response.status_code == 200, response.text
    payload = response.json()["data"]["reserveChatSpend"]
    assert payload["errors"] == [], payload
    decision = payload["check"]
    if decision["failedOpen"] or decision["failedClosed"]:
        run.fallbacks += 1
        return
    if payload["reservation"] is None:
        run.refused += 1
        return
    reservation = payload["reservation"]["id"]
    run.admitted[reservation] = estimate
    message = {"chatId": seen["chat"], "role": "ASSISTANT", "totalCostMicros": estimate}
    for attempt in range(12):
        try:
            settled = await http.post(
                f"{url}/graphql",
                json={
                    "query": SETTLE,
                    "variables": {"input": {"reservationId": reservation, "message": message}},
                },
            )
        except httpx.TransportError:
            await asyncio.sleep(0.25)
            continue
        if settled.status_code == 200:
            assert settled.json()["data"]["settleChatSpend"]["errors"] == [], settled.text
            return
        # The database is frozen: a daemon retries its settle (idempotent: keyed by the reservation),
        # backing off as a daemon would, so the retries do not drown the servers once it resumes.
        await asyncio.sleep(min(0.25 * 2**attempt, 2.0))
    raise AssertionError(f"settle of {reservation} never succeeded")


async def totals(engine: AsyncEngine) -> tuple[int, int, set[str]]:
    """(settled spend, micros still held, ids of every reservation written and not released).

    A reserve that committed in time but whose answer reached its server after the deadline is
    released by the server (the answer said nothing was held): that is not a hold."""
    async with engine.connect() as conn:
        spend = int(
            await conn.scalar(text("SELECT coalesce(sum(spend_micros), 0) FROM chat_spend_daily")) or 0
        )
        held = int(
            await conn.scalar(
                text(
                    "SELECT coalesce(sum(amount_micros), 0) FROM chat_spend_reservations WHERE state = 'held'"
                )
            )
            or 0
        )
        ids = {
            str(i)
            for i in (
                await conn.execute(text("SELECT id FROM chat_spend_reservations WHERE state <> 'released'"))
            ).scalars()
        }
    return spend, held, ids


def assert_limit_reached_exactly(run: Run, spend: int, held: int) -> None:
    assert held == 0
    assert spend == sum(run.admitted.values())
    assert spend <= LIMIT
    # The limit was reached (some reserve was refused for it), and nothing was refused needlessly.
    assert run.refused > 0
    assert spend > LIMIT - ESTIMATES[1]


@pytest.mark.slow
async def test_64_clients_of_one_user_over_two_processes_never_fall_back(
    engine: AsyncEngine, database_url: str, tmp_path: Path, record_property: Any
) -> None:
    seen = await scene(engine)
    servers = [
        Server(
            database_url=database_url,
            log=tmp_path / f"server{i}.log",
            env={"SPENDLIMITS_LOG_LEVEL": "WARNING"},
        )
        for i in range(2)
    ]
    try:
        await asyncio.gather(*(s.start() for s in servers))
        run = await cycles([s.url for s in servers], seen, clients=CLIENTS, total=CYCLES)
    finally:
        for server in servers:
            server.stop()
    spend, held, _ = await totals(engine)
    assert (run.fallbacks, run.unavailable) == (0, 0)
    assert_limit_reached_exactly(run, spend, held)
    record_property(
        "figures",
        {
            "admitted": len(run.admitted),
            "refused": run.refused,
            "p99_reserve_s": round(p99(run.reserve_s), 3),
            "p99_served_s": round(p99(run.served_s), 3),
        },
    )


def signal_all(server: Postgres, sig: signal.Signals) -> None:
    """Postgres.freeze/thaw, tolerating a backend that exits while the list is walked."""
    for process in server.processes():
        with contextlib.suppress(psutil.NoSuchProcess):
            process.send_signal(sig)


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


#: The daemons of the frozen run are spread over this many processes of their own, and the probes
#: sent while PostgreSQL is frozen come from the test's process, which does nothing else. One Python
#: process driving all 64 clients was the bottleneck: after the thaw its event loop turned once
#: every 0.1-0.27 s (5.6 s of lag in a 10 s run) and an httpx request needs many turns, so clients
#: measured 3-6 s for answers each server's request log gave in at most 1.05-1.15 s.
DAEMON_PROCESSES = 4

#: Time allowed past the budget, inside the server and at a probe sent while frozen. The budget's
#: timer fires on an event loop that a loaded 2-core machine (PostgreSQL, two servers, four load
#: generators, other people's work) runs late, 0.1-0.3 s a turn at worst, and the answer takes a
#: few more turns: measured up to 0.37 s over (load average 6-9).
MARGIN_S = 0.5
#: The same for the probes sent right after the thaw, from the client's side: the servers are then
#: busiest (every settle queued during the freeze runs at once), and before the application sees a
#: request uvicorn must read it on that busy loop, time no Server-Timing includes: up to 0.5 s past
#: the server's own time was measured there, the whole answer taking up to 1.66 s.
THAWED_MARGIN_S = 0.75


def daemons_in_a_process(
    urls: list[str],
    seen: dict[str, str],
    clients: int,
    total: int,
    seed: int,
    admitted: Any,
    results: Any,
) -> None:
    """One load-generating process (multiprocessing target): its Run, or its failure, on ``results``;
    ``admitted[seed]`` follows its admitted count, for the test's process to time the freeze."""
    # Load, not the measurement: the servers, PostgreSQL and the probing test process come first on
    # the 2 cores, so what the probes measure is the service, not four busy load generators.
    os.nice(10)
    run = Run()

    async def main() -> None:
        async def publish() -> None:
            while True:
                admitted[seed] = len(run.admitted)
                await asyncio.sleep(0.01)

        publishing = asyncio.create_task(publish())
        try:
            await cycles(urls, seen, clients=clients, total=total, seed=seed + 1, warm_up=False, run=run)
        finally:
            publishing.cancel()
            admitted[seed] = len(run.admitted)

    try:
        asyncio.run(main())
    except BaseException:
        results.put(traceback.format_exc())
        raise
    results.put(run)


async def daemons_elsewhere(urls: list[str], seen: dict[str, str], admitted: Any) -> list[Run]:
    """CYCLES cycles from CLIENTS daemons spread over DAEMON_PROCESSES processes; their Runs."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    processes = [
        context.Process(
            target=daemons_in_a_process,
            args=(urls, seen, CLIENTS // DAEMON_PROCESSES, CYCLES // DAEMON_PROCESSES, n, admitted, results),
        )
        for n in range(DAEMON_PROCESSES)
    ]
    for process in processes:
        process.start()
    try:
        runs: list[Run | str] = [await asyncio.to_thread(results.get, True, 120) for _ in processes]
    finally:
        for process in processes:
            await asyncio.to_thread(process.join, 30)
            if process.is_alive():
                process.kill()
    failures = [r for r in runs if isinstance(r, str)]
    assert not failures, failures[0]
    return [r for r in runs if isinstance(r, Run)]


def merged(runs: list[Run]) -> Run:
    run = Run()
    for part in runs:
        run.admitted.update(part.admitted)
        run.refused += part.refused
        run.fallbacks += part.fallbacks
        run.unavailable += part.unavailable
        run.reserve_s.extend(part.reserve_s)
        run.served_s.extend(part.served_s)
    return run


@pytest.mark.reliability
async def test_a_frozen_database_mid_run_leaves_no_hold_an_answer_denied(
    postgres: Postgres,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
    record_property: Any,
) -> None:
    engine = create_engine(postgres.url, Settings.from_env())
    servers = [
        Server(
            database_url=postgres.url,
            log=tmp_path / f"server{i}.log",
            env={"SPENDLIMITS_LOG_LEVEL": "WARNING"},
        )
        for i in range(2)
    ]
    async with contextlib.AsyncExitStack() as stack:
        # Undone in reverse: the probes' client, the servers, then the engine.
        stack.push_async_callback(engine.dispose)
        for server in servers:
            stack.callback(server.stop)
        await asyncio.gather(*(s.start() for s in servers))
        seen = await scene(engine)
        urls = [s.url for s in servers]
        http = await stack.enter_async_context(
            httpx.AsyncClient(
                timeout=httpx.Timeout(30.0), headers={"Authorization": f"Bearer {seen['token']}"}
            )
        )
        await warm(http, urls, seen)

        admitted = multiprocessing.get_context("spawn").Array("i", DAEMON_PROCESSES, lock=False)
        frozen, thawed = Run(), Run()
        rng = random.Random(7)

        async def probe(run: Run) -> None:
            await asyncio.gather(*(cycle(http, rng.choice(urls), rng, seen, run) for _ in range(16)))

        async def freeze_mid_run() -> None:
            while sum(admitted) < 40:  # noqa: ASYNC110 - polls a count the daemons update
                await asyncio.sleep(0.02)
            # The probes' connections opened (16 to each server) and kept alive, as a daemon's are,
            # so a probe measures its reserve and not a TCP connection accepted by a server busy
            # after the thaw (uvicorn closes a connection idle for 5 s, hence just before).
            check = {"query": CHECK, "variables": {"user": seen["user"]}}
            await asyncio.gather(
                *(http.post(f"{url}/graphql", json=check) for url in urls for _ in range(16))
            )
            await asyncio.to_thread(signal_all, postgres, signal.SIGSTOP)
            try:
                # Reserves sent while it is frozen (the racing daemons are mostly waiting on their
                # settles by then): each must be answered in its budget, none may hold later.
                await asyncio.sleep(0.2)
                await probe(frozen)
                await asyncio.sleep(0.5)
            finally:
                await asyncio.to_thread(signal_all, postgres, signal.SIGCONT)
            # And right after the thaw, when every daemon's settle is retried at once.
            await probe(thawed)

        daemons, _ = await asyncio.gather(daemons_elsewhere(urls, seen, admitted), freeze_mid_run())
        run = merged([*daemons, frozen, thawed])
        # Long enough for any statement still running at the freeze to have finished or failed.
        await asyncio.sleep(1.0)
        spend, held, ids = await totals(engine)
    served = run.served_s
    assert frozen.reserve_s and thawed.reserve_s
    # The freeze was felt: some answers came from the enforcement mode or as 503s.
    assert run.fallbacks + run.unavailable > 0
    # No phantom hold: every reservation written is one an answer said was made.
    assert ids - set(run.admitted) == set()
    assert held == 0
    assert spend == sum(run.admitted.values()) <= LIMIT
    figures = {
        "admitted": len(run.admitted),
        "fallbacks": run.fallbacks,
        "unavailable": run.unavailable,
        "max_served_s": round(max(served), 3),
        "max_probe_frozen_s": round(max(frozen.reserve_s), 3),
        "max_probe_frozen_served_s": round(max(frozen.served_s), 3),
        "max_probe_thawed_s": round(max(thawed.reserve_s), 3),
        "max_probe_thawed_served_s": round(max(thawed.served_s), 3),
        "max_daemon_s": round(max(t for d in daemons for t in d.reserve_s), 3),
    }
    record_property("figures", figures)
    print(f"\nreliability figures: {figures}")
    # Every reserve answered within its budget: inside the server (each one's Server-Timing),
    # and from the client's side for the probes sent while frozen and right after the thaw. The
    # daemons' own client-side times are reported, not asserted: their processes are niced load
    # generators, so they measure their own wait for a CPU as much as the service.
    assert max(served) < BUDGET_S + MARGIN_S, figures
    assert max(frozen.reserve_s) < BUDGET_S + MARGIN_S, figures
    assert max(thawed.reserve_s) < BUDGET_S + THAWED_MARGIN_S, figures
