"""What the benchmarks in bench/ share: a scratch database, seed data, a server process, a small
HTTP load generator and the summaries they print.

Not a benchmark itself. The scripts import it as ``harness`` (they run from bench/, so it is on
their path). Everything talks to 127.0.0.1 only and is bounded in time and request count.
"""

import argparse
import asyncio
import contextlib
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from asyncpg.prepared_stmt import PreparedStatement

from spendlimits.auth.tokens import hash_secret, new_secret
from spendlimits.db import migrate
from spendlimits.limits.periods import Period, period_bounds

REPO = Path(__file__).resolve().parent.parent
SPENDLIMITS = REPO / ".venv" / "bin" / "spendlimits"
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
#: Every seeded user may spend $1,000,000 a month by default: checks are allowed, never blocked.
DEFAULT_LIMIT_MICROS = 1_000_000_000_000


def base_arguments(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL") or DEFAULT_SERVER,
        help="any database on the server to use; a scratch database is created next to it",
    )
    parser.add_argument("--quick", action="store_true", help="fewer and shorter runs: under a minute")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    return parser


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


@contextlib.asynccontextmanager
async def scratch_database(
    server_url: str, name: str, keep: bool = False, target: int | None = None
) -> AsyncIterator[str]:
    """A freshly migrated database ``name`` next to ``server_url`` (up to migration ``target``, or
    all of them), dropped afterwards."""
    server_url = with_database(server_url, urlsplit(server_url).path.lstrip("/") or "postgres")
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = with_database(server_url, name)
    conn = await asyncpg.connect(url)
    try:
        await migrate.up(conn, migrate.load_migrations(), target=target)
    finally:
        await conn.close()
    try:
        yield url
    finally:
        if not keep:
            admin = await asyncpg.connect(server_url)
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await admin.close()


async def machine_notes(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        version = await conn.fetchval("SHOW server_version")
        settings = {
            name: await conn.fetchval(f"SHOW {name}")
            for name in ("shared_buffers", "synchronous_commit", "max_connections")
        }
    finally:
        await conn.close()
    print(f"# {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"# PostgreSQL {version}; " + ", ".join(f"{k}={v}" for k, v in settings.items()))
    print(f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC", flush=True)


# --- seed data ---------------------------------------------------------------------------------


@dataclass
class Seeded:
    organization: uuid.UUID
    #: Users in username order (u000000, u000001, ...): the order of the users list.
    users: list[uuid.UUID]
    #: One chat per user, same order.
    chats: list[uuid.UUID]
    #: A CHATD service token and an OWNER user's token.
    chatd_token: str
    owner_token: str
    messages: int = 0


async def seed_directory(url: str, user_count: int) -> Seeded:
    """One organization, ``user_count`` members each with one chat, a $1M monthly default limit,
    two groups with limits (every 3rd and every 5th user) and overrides for every 7th user, so that
    every tier of the resolution has users in it. An OWNER ("zz-admin", last in the list) and a
    CHATD token."""
    conn = await asyncpg.connect(url)
    try:
        org = await conn.fetchval("INSERT INTO organizations (name) VALUES ('bench') RETURNING id")
        await conn.execute(
            """
            INSERT INTO users (username, name, email, chat_spend_limit_micros)
            SELECT 'u' || lpad(g::text, 6, '0'), 'User ' || g, 'u' || g || '@example.com',
                   CASE WHEN g % 7 = 0 THEN $1::bigint * 2 END
            FROM generate_series(0, $2 - 1) g
            """,
            DEFAULT_LIMIT_MICROS,
            user_count,
        )
        users = [r["id"] for r in await conn.fetch("SELECT id FROM users ORDER BY username")]
        await conn.execute(
            "INSERT INTO organization_members (organization_id, user_id) SELECT $1, id FROM users", org
        )
        for name, every, factor in (("every-3rd", 3, 3), ("every-5th", 5, 4)):
            group = await conn.fetchval(
                "INSERT INTO groups (organization_id, name, chat_spend_limit_micros) VALUES ($1, $2, $3) RETURNING id",
                org,
                name,
                DEFAULT_LIMIT_MICROS * factor,
            )
            await conn.execute(
                "INSERT INTO group_members (group_id, user_id) SELECT $1, u FROM unnest($2::uuid[]) u",
                group,
                users[::every],
            )
        await conn.execute(
            "UPDATE chat_usage_limit_config SET enabled = true, default_limit_micros = $1, period = 'month'",
            DEFAULT_LIMIT_MICROS,
        )
        chats = [
            r["id"]
            for r in await conn.fetch(
                """
                INSERT INTO chats (owner_id, organization_id)
                SELECT u, $1 FROM unnest($2::uuid[]) WITH ORDINALITY AS t(u, n) ORDER BY n
                RETURNING id
                """,
                org,
                users,
            )
        ]
        admin = await conn.fetchval(
            "INSERT INTO users (username, role) VALUES ('zz-admin', 'owner') RETURNING id"
        )
        chatd_token, owner_token = new_secret(), new_secret()
        await conn.execute(
            "INSERT INTO api_tokens (name, service, secret_hash) VALUES ('bench-chatd', 'chatd', $1)",
            hash_secret(chatd_token),
        )
        await conn.execute(
            "INSERT INTO api_tokens (name, user_id, secret_hash) VALUES ('bench-owner', $1, $2)",
            admin,
            hash_secret(owner_token),
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return Seeded(org, users, chats, chatd_token, owner_token)


async def add_messages(url: str, seeded: Seeded, count: int, heavy_share: float = 0.5) -> float:
    """Adds ``count`` priced messages spread over this month up to now: ``heavy_share`` of them in
    the first user's chat (the heavy user the checks ask about), the rest round-robin over every
    other chat. One INSERT ... SELECT (the rollup trigger runs once), then a fold of the spend
    journal as the server's folder soon would (readers then find the rollup folded, not the load's
    journal rows), then VACUUM ANALYZE as autovacuum soon would. Returns the seconds it took."""
    now = datetime.now(UTC) - timedelta(seconds=1)
    start, _ = period_bounds(Period.MONTH, now)
    span = max((now - start).total_seconds() - 1, 1)
    heavy = int(count * heavy_share) if len(seeded.chats) > 1 else count
    started = time.perf_counter()
    conn = await asyncpg.connect(url, command_timeout=3600)
    try:
        for chats, rows in ((seeded.chats[:1], heavy), (seeded.chats[1:], count - heavy)):
            if rows == 0 or not chats:
                continue
            await conn.execute(
                """
                INSERT INTO chat_messages (chat_id, role, total_cost_micros, created_at)
                SELECT ($1::uuid[])[1 + g % cardinality($1::uuid[])], 'assistant', 1 + g % 5000,
                       $2::timestamptz + make_interval(secs => $3::float8 * g / $4)
                FROM generate_series(1, $4) g
                """,
                chats,
                start,
                span,
                rows,
            )
        await conn.execute("SELECT spendlimits_fold_spend_journal()")
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    seeded.messages += count
    return time.perf_counter() - started


# --- the server --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    """``spendlimits serve`` in a child process, its log in a temporary file."""

    url: str
    workers: int = 1
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    def __enter__(self) -> "Server":
        handle, name = tempfile.mkstemp(prefix="spendlimits-bench-", suffix=".log")
        self.log_path = Path(name)
        env = {**os.environ, "DATABASE_URL": self.url, **self.env}
        with os.fdopen(handle, "wb") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own command, fixed arguments
                [str(SPENDLIMITS), "serve", "--port", str(self.port), "--workers", str(self.workers)],
                env=env,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        self._wait_healthy()
        return self

    def _wait_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_tail()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.5) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    # Every worker answers /healthz once started; give the others a moment too.
                    time.sleep(0.5 * self.workers)
                    return
            time.sleep(0.2)
        raise RuntimeError(f"server not healthy in {timeout} s: {self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def pids(self) -> list[int]:
        """The server's processes: uvicorn's supervisor and, with several workers, its children."""
        assert self.process is not None
        found = [self.process.pid]
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    parent = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
                    if parent == self.process.pid:
                        found.append(int(entry.name))
        return found

    def __exit__(self, *_: Any) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self.log_path is not None:
            self.log_path.unlink(missing_ok=True)


# --- HTTP load ---------------------------------------------------------------------------------


def graphql_request(port: int, token: str, body: bytes) -> bytes:
    """A complete HTTP/1.1 POST /graphql, keep-alive."""
    return (
        f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nAccept: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


class HttpConnection(asyncio.Protocol):
    """One keep-alive connection; one request in flight at a time. Needs Content-Length answers
    (uvicorn sends them for Starlette responses), which keeps parsing to a few byte searches."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.transport: asyncio.WriteTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's TCP transport is not a subclass of asyncio.Transport, but it writes.
        self.transport = transport  # type: ignore[assignment]  # see the line above

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).lower()
        at = head.find(b"content-length:")
        if at < 0:
            waiter.set_exception(RuntimeError("response without Content-Length"))
            return
        length = int(head[at + 15 : head.find(b"\r\n", at) if head.find(b"\r\n", at) > 0 else None])
        total = end + 4 + length
        if len(self.buffer) < total:
            return
        body = bytes(self.buffer[end + 4 : total])
        del self.buffer[:total]
        waiter.set_result((int(head[9:12]), body))

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError(f"connection lost: {exc}"))

    async def send(self, request: bytes) -> tuple[int, bytes]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self.waiter


@dataclass
class Run:
    """What one timed run measured."""

    latencies: list[float]
    seconds: float
    errors: int = 0
    first_error: str = ""
    #: Calls made, warm-up included.
    attempts: int = 0
    #: PostgreSQL sessions opened on the database during the run (connection churn).
    new_sessions: int = 0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile(self, q: float) -> float:
        """Milliseconds."""
        if len(self.latencies) < 2:
            return self.latencies[0] * 1000 if self.latencies else float("nan")
        return statistics.quantiles(self.latencies, n=1000, method="inclusive")[round(q * 1000) - 1] * 1000

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies) * 1000

    @property
    def p99(self) -> float:
        return self.percentile(0.99)


async def closed_loop(
    concurrency: int, seconds: float, work: Callable[[int], Awaitable[None]], warmup: float = 0.5
) -> Run:
    """``concurrency`` workers each calling ``work(worker index)`` back to back for ``seconds``
    after ``warmup`` seconds; every call timed."""
    latencies: list[float] = []
    errors = attempts = 0
    first_error = ""
    loop = asyncio.get_running_loop()
    start = loop.time()
    measure_from = start + warmup
    stop = measure_from + seconds

    async def worker(index: int) -> None:
        nonlocal errors, first_error, attempts
        clock = time.perf_counter
        while True:
            now = loop.time()
            if now >= stop:
                return
            began = clock()
            attempts += 1
            try:
                await work(index)
            except Exception as exc:
                errors += 1
                first_error = first_error or f"{type(exc).__name__}: {exc}"
                await asyncio.sleep(0.01)
                continue
            if now >= measure_from:
                latencies.append(clock() - began)

    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return Run(latencies, stop - measure_from, errors, first_error, attempts)


@contextlib.asynccontextmanager
async def http_connections(port: int, count: int) -> AsyncIterator[list[HttpConnection]]:
    loop = asyncio.get_running_loop()
    connections = []
    try:
        for _ in range(count):
            _, protocol = await loop.create_connection(HttpConnection, "127.0.0.1", port)
            connections.append(protocol)
        yield connections
    finally:
        for c in connections:
            if c.transport is not None:
                c.transport.close()


async def http_load(
    port: int,
    concurrency: int,
    seconds: float,
    requests: Sequence[bytes],
    expect: bytes,
    warmup: float = 0.5,
) -> Run:
    """POSTs ``requests`` (round-robin) over ``concurrency`` keep-alive connections for ``seconds``.
    A response that is not a 200 containing ``expect`` counts as an error."""
    async with http_connections(port, concurrency) as connections:
        counter = 0

        async def work(index: int) -> None:
            nonlocal counter
            counter += 1
            status, body = await connections[index].send(requests[counter % len(requests)])
            if status != 200 or expect not in body:
                raise RuntimeError(f"HTTP {status}: {body[:300]!r}")

        return await closed_loop(concurrency, seconds, work, warmup)


@contextlib.contextmanager
def statements_sent(seen: list[tuple[str, tuple[Any, ...]]]) -> Iterator[None]:
    """Records what asyncpg is asked to run, through SQLAlchemy (a prepared statement, and BEGIN /
    COMMIT / ROLLBACK) or straight on the connection (spendlimits.db.driver)."""
    prepared_fetch, connection_fetch, execute = (
        PreparedStatement.fetch,
        asyncpg.Connection.fetch,
        asyncpg.Connection.execute,
    )

    async def fetch_prepared(self: PreparedStatement, *args: Any, **kwargs: Any) -> Any:
        seen.append((self.get_query(), args))
        return await prepared_fetch(self, *args, **kwargs)

    async def fetch(self: asyncpg.Connection, query: str, *args: Any, **kwargs: Any) -> Any:
        seen.append((query, args))
        return await connection_fetch(self, query, *args, **kwargs)

    async def execute_simple(self: asyncpg.Connection, query: str, *args: Any, **kwargs: Any) -> Any:
        # SQLAlchemy's BEGIN, COMMIT and ROLLBACK: round trips, not statements of the request.
        seen.append((query, args))
        return await execute(self, query, *args, **kwargs)

    # Counting wrappers over the driver's methods for the length of the block; their signatures are
    # looser than the stubs' overloads, and the stubs do not expect methods to be replaced.
    PreparedStatement.fetch, asyncpg.Connection.fetch = fetch_prepared, fetch  # type: ignore[method-assign,assignment]  # see above
    asyncpg.Connection.execute = execute_simple  # type: ignore[method-assign,assignment]  # see above
    try:
        yield
    finally:
        # The driver's own methods back in place.
        PreparedStatement.fetch, asyncpg.Connection.fetch = prepared_fetch, connection_fetch  # type: ignore[method-assign]  # stubs expect no replacing
        asyncpg.Connection.execute = execute  # type: ignore[method-assign]  # stubs expect no replacing


TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK")


def split_statements(seen: Sequence[tuple[str, tuple[Any, ...]]]) -> tuple[int, int]:
    """(SQL statements, transaction-control round trips) among what statements_sent recorded."""
    control = sum(1 for sql, _ in seen if sql.strip().rstrip(";").upper().startswith(TRANSACTION_CONTROL))
    return len(seen) - control, control


# --- CPU accounting ----------------------------------------------------------------------------
# On a shared 2-core machine requests/s drift with whatever else runs; CPU seconds per request of
# each process do not, and they say which side (client, server, PostgreSQL) a change helped.

_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: Sequence[int]) -> dict[int, float]:
    """User plus system CPU of each of these processes so far (processes that have gone: left out)."""
    found = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            found[pid] = (int(fields[11]) + int(fields[12])) / _TICK
    return found


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU used between two readings; a process seen only at the end counts from its start. A
    process that ended in between is lost: the harness avoids that (it keeps pools full)."""
    return sum(value - before.get(pid, 0.0) for pid, value in after.items())


async def backend_pids(url: str) -> list[int]:
    """PostgreSQL backends connected to this database (the scratch database: only ours)."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await conn.close()
    return [r["pid"] for r in rows]


async def _sessions(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        count: int = await conn.fetchval(
            "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
        )
    finally:
        await conn.close()
    return count


@dataclass
class Cpu:
    """CPU per request in microseconds: this process (the client), the server, PostgreSQL."""

    client: float
    server: float
    postgres: float

    def __str__(self) -> str:
        server = f"{self.server:,.0f}" if self.server else "-"
        return f"{self.client:,.0f} / {server} / {self.postgres:,.0f}"


async def measure_cpu(
    url: str, server_pids: Sequence[int], run: Callable[[], Awaitable[Run]]
) -> tuple[Run, Cpu]:
    """``run()`` and the CPU it cost each side per completed request (warm-up included in the CPU
    and in the count, so the two match)."""
    backends = await backend_pids(url)
    client0, server0, pg0 = time.process_time(), cpu_seconds(server_pids), cpu_seconds(backends)
    sessions0 = await _sessions(url)
    result = await run()
    client = time.process_time() - client0
    server = cpu_delta(server0, cpu_seconds(server_pids))
    pg = cpu_delta(pg0, cpu_seconds(sorted(set(backends) | set(await backend_pids(url)))))
    result.new_sessions = await _sessions(url) - sessions0 - 1
    done = max(result.attempts, 1)
    return result, Cpu(client / done * 1e6, server / done * 1e6, pg / done * 1e6)


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "-"


def print_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(str(c) for c in row) + " |")
    sys.stdout.flush()


def median_run(runs: Sequence[tuple[Run, Cpu]]) -> tuple[Run, Cpu]:
    """The run with the median rate (its latencies and CPU go with it)."""
    return sorted(runs, key=lambda r: r[0].rate)[len(runs) // 2]
