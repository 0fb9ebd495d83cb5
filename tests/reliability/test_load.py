"""A sustained mixed load: admission checks, status reads and message records, for a bounded time.

Nothing may fail, and the server must reach a steady state: its resident memory and its database
connections in the last third of the run no higher than in the first third, within stated bounds.
"""

import asyncio
import itertools
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncpg
import httpx
import pytest

from tests.reliability.postgres import Postgres
from tests.reliability.service import (
    CLIENT_TIMEOUT,
    RECORD,
    Client,
    Server,
    assert_no_secret_logged,
    chats_of,
    seed,
)

pytestmark = pytest.mark.reliability

#: Modest on purpose: two cores are shared by this client, the server, PostgreSQL and other work.
WORKERS = 6
WARM_UP_S = 3.0
DURATION_S = 24.0
SAMPLE_EVERY_S = 0.25
POOL_SIZE, POOL_OVERFLOW = 5, 5
#: Allowed growth of the median resident memory from the first third to the last third.
RSS_GROWTH_BOUND = 8 * 1024 * 1024

CHECK = "query Check($u: ID!) { chatUsageLimitCheck(userId: $u) { allowed failedOpen } }"
STATUS = "query Mine { myChatUsageLimitStatus { currentSpendMicros remainingMicros exceeded } }"


@dataclass
class Run:
    latencies: dict[str, list[float]] = field(
        default_factory=lambda: {"check": [], "status": [], "record": []}
    )
    failures: Counter[str] = field(default_factory=Counter)
    rss: list[tuple[float, int]] = field(default_factory=list)
    connections: list[tuple[float, int]] = field(default_factory=list)


def thirds(samples: list[tuple[float, int]], start: float, end: float) -> tuple[list[int], list[int]]:
    third = (end - start) / 3
    first = [v for t, v in samples if t < start + third]
    last = [v for t, v in samples if t >= end - third]
    assert len(first) >= 10 and len(last) >= 10, "too few samples"
    return first, last


async def test_a_sustained_mixed_load_has_no_errors_and_no_growth_of_memory_or_connections(
    postgres: Postgres, make_server: Callable[..., Server], record_property: Callable[[str, object], None]
) -> None:
    server = make_server(
        postgres.url,
        SPENDLIMITS_DB_POOL_SIZE=str(POOL_SIZE),
        SPENDLIMITS_DB_POOL_MAX_OVERFLOW=str(POOL_OVERFLOW),
        # One line per request would make the log, not the server, the thing measured.
        SPENDLIMITS_LOG_LEVEL="WARNING",
    )
    await server.start()
    seeded = await seed(postgres.url)
    keys = itertools.count()
    run = Run()

    async with httpx.AsyncClient(base_url=server.url, timeout=CLIENT_TIMEOUT) as setup:
        chats = await chats_of(Client(setup, seeded.owner_token), seeded.member_id, 4)

    async def one(kind: str, client: Client) -> None:
        if kind == "check":
            response = await client.post(CHECK, {"u": seeded.member_id})
        elif kind == "status":
            response = await client.post(STATUS)
        else:
            n = next(keys)
            response = await client.post(
                RECORD,
                {
                    "input": {
                        "chatId": chats[n % len(chats)],
                        "role": "ASSISTANT",
                        "totalCostMicros": 1 + n % 1000,
                        "idempotencyKey": f"load-{n}",
                    }
                },
            )
        body = response.json() if response.status_code == 200 else {}
        if response.status_code != 200 or body.get("errors"):
            run.failures[f"{kind}: {response.status_code} {response.text[:200]}"] += 1
        elif kind == "check" and body["data"]["chatUsageLimitCheck"]["failedOpen"]:
            run.failures["check failed open"] += 1
        elif kind == "record" and body["data"]["recordChatMessage"]["errors"]:
            run.failures[f"record: {body['data']['recordChatMessage']['errors']}"] += 1

    async def worker(index: int, until: float, measure: bool) -> None:
        # Checks and records come from the daemon, status reads from the member's usage bar.
        kinds = ["check", "check", "status", "record"]
        async with httpx.AsyncClient(base_url=server.url, timeout=CLIENT_TIMEOUT) as http:
            clients = {
                "check": Client(http, seeded.chatd_token),
                "status": Client(http, seeded.member_token),
                "record": Client(http, seeded.chatd_token),
            }
            for turn in itertools.count(index):
                if time.monotonic() >= until:
                    return
                kind = kinds[turn % len(kinds)]
                started = time.monotonic()
                await one(kind, clients[kind])
                if measure:
                    run.latencies[kind].append(time.monotonic() - started)

    async def sampler(probe: asyncpg.Connection, until: float) -> None:
        while time.monotonic() < until:
            now = time.monotonic()
            run.rss.append((now, server.rss_bytes()))
            count = await probe.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'spendlimits'"
            )
            run.connections.append((now, count))
            await asyncio.sleep(SAMPLE_EVERY_S)

    warm_until = time.monotonic() + WARM_UP_S
    await asyncio.gather(*(worker(i, warm_until, measure=False) for i in range(WORKERS)))
    assert not run.failures, run.failures

    probe = await asyncpg.connect(postgres.url, server_settings={"application_name": "reliability-probe"})
    try:
        cpu_before = server.cpu_seconds()
        start = time.monotonic()
        end = start + DURATION_S
        await asyncio.gather(sampler(probe, end), *(worker(i, end, measure=True) for i in range(WORKERS)))
        server_cpu = server.cpu_seconds() - cpu_before
        # Overflow connections are closed as they are returned: at rest the pool is back to its size.
        at_rest = await probe.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'spendlimits'"
        )
    finally:
        await probe.close()

    requests = sum(len(v) for v in run.latencies.values())
    assert not run.failures, run.failures
    first_rss, last_rss = thirds(run.rss, start, end)
    first_conn, last_conn = thirds(run.connections, start, end)
    figures = {
        "requests": requests,
        "requests_per_s": round(requests / DURATION_S),
        # Where a low requests/s comes from: the server's own CPU per request, or a busy machine.
        "server_cpu_ms_per_request": round(server_cpu / requests * 1000, 2),
        "server_cpu_share_of_one_core": round(server_cpu / DURATION_S, 2),
        **{f"{kind}_p50_ms": round(statistics.median(v) * 1000, 1) for kind, v in run.latencies.items()},
        **{
            f"{kind}_p99_ms": round(statistics.quantiles(v, n=100)[98] * 1000, 1)
            for kind, v in run.latencies.items()
        },
        "rss_first_third_mib": round(statistics.median(first_rss) / 2**20, 1),
        "rss_last_third_mib": round(statistics.median(last_rss) / 2**20, 1),
        "connections_first_third_max": max(first_conn),
        "connections_last_third_max": max(last_conn),
        "connections_at_rest": at_rest,
    }
    record_property("figures", figures)
    assert statistics.median(last_rss) <= statistics.median(first_rss) + RSS_GROWTH_BOUND
    # The pool's hard cap holds throughout, and the count does not creep up: a leaked connection
    # would raise the last third above the first, then exhaust the pool into errors.
    assert max(c for _, c in run.connections) <= POOL_SIZE + POOL_OVERFLOW
    assert statistics.median(last_conn) <= statistics.median(first_conn) + 1
    assert at_rest <= POOL_SIZE
    assert_no_secret_logged(server.log_text(), seeded.secrets)
