"""Mixed load: the daemon's admission checks while an auditor runs the heaviest accepted document.

The daemon sends 100 checks a second (open loop: each check leaves on schedule, whether or not
the earlier ones were answered, so a stall shows up as latency instead of fewer requests). An
auditor runs the most expensive document the default cost limit accepts (a page of 500 users with
groups, organizations, effective limits and statuses) in a loop for 20 s. Measured in one run:

1. idle: the checks alone, on the decision listener (``--decision-workers 2``);
2. shared (the deployment before this change): checks and heavy reads on the same listener;
3. isolated: heavy reads on the main listener, checks on the decision listener.

Isolated, no check fails open and the check p99 stays within 3x of the idle p99.

The p99 of 2,000 checks is the 21st slowest: one stall of the machine of 200 ms delays about 20
checks, whatever the service does. CI's virtual machine has them now and then (two runs on
2026-12-02: the served time's maximum 199-243 ms in one phase, none in others; a CPU hog at the
same priority reproduces them). So idle and isolated are measured again, up to ATTEMPTS times in
all, when the bound is missed; every attempt's figures are recorded, failed-open checks fail the
test at once in any attempt, and a service whose isolation does not hold misses the bound in every
attempt (the shared listener: 17-50x idle in every run).
"""

import asyncio
import json
import re
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncpg
import httpx
import pytest
from graphql import parse

from spendlimits.auth.principal import Role
from spendlimits.db.engine import create_engine
from spendlimits.graphql.cost import DEFAULT_MAX_COST, LIST_ESTIMATES, shape
from spendlimits.graphql.schema import schema
from spendlimits.settings import Settings
from tests.conftest import make_token, make_user
from tests.reliability.postgres import Postgres, free_port
from tests.reliability.service import CLIENT_TIMEOUT, Client, Server, seed

pytestmark = pytest.mark.reliability

USERS = 500
CHECKS_PER_S = 100
IDLE_S = 8.0
LOADED_S = 20.0
#: The check's p99 under load may be at most this many times its idle p99.
P99_BOUND = 3.0
#: Two: with the cores shared, each process gets a share of them (measured with one worker: 374
#: checks of 2,000 failed open under the heavy reads).
DECISION_WORKERS = 2
LAG_TICK_S = 0.005
#: Measurements of idle and isolated, at most (see the module's docstring).
ATTEMPTS = 3

CHECK = "query DaemonCheck($u: ID!) { chatUsageLimitCheck(userId: $u) { allowed failedOpen } }"
HEAVY = """
query AuditPage { users(first: 500) { totalCount nodes { id username name email role createdAt
  groups { id name chatSpendLimitMicros } organizations { id name }
  effectiveChatSpendLimit { limitMicros source }
  chatUsageLimitStatus { limitSource spendLimitMicros currentSpendMicros remainingMicros heldMicros
    exceeded periodStart periodEnd } } } }
"""


@dataclass
class Checks:
    latencies: list[float] = field(default_factory=list)
    #: The server's own time per check (its Server-Timing header), to tell the server's share of a
    #: slow check from the client's and the scheduler's.
    served: list[float] = field(default_factory=list)
    #: How late this process's own event loop woke up, sampled every few milliseconds during the
    #: run: a check cannot be timed better than the loop that sends it.
    loop_lag: list[float] = field(default_factory=list)
    failed_open: int = 0
    errors: list[str] = field(default_factory=list)

    def p(self, q: int) -> float:
        return statistics.quantiles(self.latencies, n=100)[q - 1] * 1000

    def figures(self, name: str) -> dict[str, float]:
        return {
            f"{name}_checks": len(self.latencies),
            f"{name}_p50_ms": round(self.p(50), 1),
            f"{name}_p99_ms": round(self.p(99), 1),
            f"{name}_max_ms": round(max(self.latencies) * 1000, 1),
            f"{name}_served_p99_ms": round(statistics.quantiles(self.served, n=100)[98] * 1000, 1),
            f"{name}_served_max_ms": round(max(self.served) * 1000, 1),
            f"{name}_client_lag_max_ms": round(max(self.loop_lag, default=0.0) * 1000, 1),
            f"{name}_failed_open": self.failed_open,
        }


async def directory(url: str) -> None:
    """500 users in one organization, two groups with limits, limits switched on."""
    conn = await asyncpg.connect(url)
    try:
        org = await conn.fetchval("INSERT INTO organizations (name) VALUES ('load') RETURNING id")
        users = await conn.fetch(
            "INSERT INTO users (username) SELECT 'load-' || lpad(g::text, 4, '0') FROM generate_series(1, $1) g "
            "RETURNING id",
            USERS,
        )
        ids = [r["id"] for r in users]
        await conn.execute(
            "INSERT INTO organization_members (organization_id, user_id) SELECT $1, u FROM unnest($2::uuid[]) u",
            org,
            ids,
        )
        for name, every in (("every-3rd", 3), ("every-5th", 5)):
            group = await conn.fetchval(
                "INSERT INTO groups (organization_id, name, chat_spend_limit_micros) VALUES ($1, $2, 5000000) "
                "RETURNING id",
                org,
                name,
            )
            await conn.execute(
                "INSERT INTO group_members (group_id, user_id) SELECT $1, u FROM unnest($2::uuid[]) u",
                group,
                ids[::every],
            )
        await conn.execute(
            "UPDATE chat_usage_limit_config SET enabled = true, default_limit_micros = 1000000000, period = 'month'"
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


class Connections:
    """Keep-alive HTTP/1.1 connections to one port, one request in flight on each.

    Hand-written rather than httpx: at 100 requests a second on a shared two-core machine, the
    client's own CPU per request would be measured as the server's latency.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.opened: list[asyncio.StreamWriter] = []

    async def post(self, request: bytes) -> tuple[int, bytes, float]:
        """The status, body and the server's own seconds (Server-Timing)."""
        while self.idle:
            reader, writer = self.idle.pop()
            try:
                return await self._exchange(reader, writer, request)
            except (ConnectionError, asyncio.IncompleteReadError):
                continue  # closed by the server after its keep-alive timeout: use another
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.opened.append(writer)
        return await self._exchange(reader, writer, request)

    async def _exchange(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
    ) -> tuple[int, bytes, float]:
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.lower().split(b"\r\n")
            if line.startswith(b"content-length:")
        )
        body = await reader.readexactly(length)
        self.idle.append((reader, writer))
        timing = re.search(rb"server-timing: app;dur=([0-9.]+)", head.lower())
        return int(head[9:12]), body, float(timing.group(1)) / 1000 if timing else float("nan")

    def close(self) -> None:
        for writer in self.opened:
            writer.close()


def check_request(port: int, token: str, user_id: str) -> bytes:
    body = json.dumps({"query": CHECK, "variables": {"u": user_id}}).encode()
    return (
        f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def daemon(port: int, token: str, user_id: str, seconds: float) -> Checks:
    """CHECKS_PER_S checks a second for ``seconds``, each leaving on schedule."""
    checks = Checks()
    connections = Connections(port)
    request = check_request(port, token, user_id)

    async def one() -> None:
        started = time.monotonic()
        status, body, served = await asyncio.wait_for(connections.post(request), CLIENT_TIMEOUT.read)
        checks.latencies.append(time.monotonic() - started)
        checks.served.append(served)
        if status != 200 or b'"errors"' in body:
            checks.errors.append(f"{status} {body[:200]!r}")
        elif json.loads(body)["data"]["chatUsageLimitCheck"]["failedOpen"]:
            checks.failed_open += 1

    async def watch_loop() -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(LAG_TICK_S)
            checks.loop_lag.append(time.monotonic() - before - LAG_TICK_S)

    watcher = asyncio.create_task(watch_loop())
    tasks = []
    start = time.monotonic()
    try:
        for n in range(int(seconds * CHECKS_PER_S)):
            await asyncio.sleep(max(0.0, start + n / CHECKS_PER_S - time.monotonic()))
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
    finally:
        watcher.cancel()
        connections.close()
    return checks


async def auditor(base_url: str, token: str, until: float) -> list[float]:
    """The heavy document again and again until ``until``; the seconds each run took."""
    took = []
    async with httpx.AsyncClient(base_url=base_url, timeout=CLIENT_TIMEOUT) as http:
        client = Client(http, token)
        while time.monotonic() < until:
            started = time.monotonic()
            response = await client.post(HEAVY)
            took.append(time.monotonic() - started)
            # Not parsed: decoding 400 KB of JSON would stall this process's own loop.
            assert response.status_code == 200 and b'"errors"' not in response.content, response.text[:300]
    return took


async def under_load(
    check_port: int, heavy_url: str, tokens: tuple[str, str], user_id: str
) -> tuple[Checks, int]:
    until = time.monotonic() + LOADED_S
    heavy = asyncio.create_task(auditor(heavy_url, tokens[1], until))
    checks = await daemon(check_port, tokens[0], user_id, LOADED_S)
    return checks, len(await heavy)


async def test_checks_keep_their_latency_on_the_decision_listener_while_heavy_reads_run(
    postgres: Postgres, make_server: Callable[..., Server], record_property: Callable[[str, object], None]
) -> None:
    # The heaviest accepted document: within the default limit, and no larger list fits next to it.
    cost = shape(schema._schema, parse(HEAVY), None).estimate({})
    assert cost <= DEFAULT_MAX_COST < cost + 500 * LIST_ESTIMATES["User.groups"]
    decision_port = free_port()
    server = make_server(
        postgres.url,
        SPENDLIMITS_DECISION_WORKERS=str(DECISION_WORKERS),
        SPENDLIMITS_DECISION_PORT=str(decision_port),
        # Each process's own pool; a check holds one connection for about a millisecond.
        SPENDLIMITS_DB_POOL_SIZE="10",
        SPENDLIMITS_DB_POOL_MAX_OVERFLOW="0",
        SPENDLIMITS_LOG_LEVEL="WARNING",
    )
    await server.start()
    seeded = await seed(postgres.url)
    await directory(postgres.url)
    engine = create_engine(postgres.url, Settings.from_env())
    try:
        auditor_token = await make_token(
            engine, await make_user(engine, Role.AUDITOR, username=f"a{uuid.uuid4().hex[:8]}")
        )
    finally:
        await engine.dispose()
    decisions = f"http://127.0.0.1:{decision_port}"
    await Server(database_url=postgres.url, log=server.log, port=decision_port).wait_healthy(within=60)
    tokens = (seeded.chatd_token, auditor_token)

    # The decision listener is up, and refuses a page: heavy reads cannot be sent there by mistake.
    async with httpx.AsyncClient(base_url=decisions, timeout=CLIENT_TIMEOUT) as http:
        refused = (await Client(http, auditor_token).post(HEAVY)).json()
        assert refused["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    # Warm both listeners (plans, caches) before measuring.
    await daemon(decision_port, seeded.chatd_token, seeded.member_id, 2.0)
    await daemon(server.port, seeded.chatd_token, seeded.member_id, 1.0)

    shared, shared_heavy = await under_load(server.port, server.url, tokens, seeded.member_id)
    assert not shared.errors, shared.errors[:5]
    figures: dict[str, object] = {**shared.figures("shared"), "shared_heavy_runs": shared_heavy}
    for attempt in range(1, ATTEMPTS + 1):
        idle = await daemon(decision_port, seeded.chatd_token, seeded.member_id, IDLE_S)
        isolated, isolated_heavy = await under_load(decision_port, server.url, tokens, seeded.member_id)
        figures = {
            **figures,
            "attempt": attempt,
            **idle.figures("idle"),
            **isolated.figures("isolated"),
            "isolated_heavy_runs": isolated_heavy,
            "isolated_p99_over_idle_p99": round(isolated.p(99) / idle.p(99), 2),
            "shared_p99_over_idle_p99": round(shared.p(99) / idle.p(99), 2),
        }
        record_property(f"figures, attempt {attempt}", figures)
        for run in (idle, isolated):
            assert not run.errors, run.errors[:5]
        assert isolated_heavy >= 3, "the heavy reads did not run: nothing was measured"
        assert isolated.failed_open == 0, figures
        if isolated.p(99) <= P99_BOUND * idle.p(99):
            break
    assert isolated.p(99) <= P99_BOUND * idle.p(99), figures
