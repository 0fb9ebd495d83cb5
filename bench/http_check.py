"""Benchmark: the daemon's admission check over HTTP against the same SQL run directly with asyncpg.

    .venv/bin/python bench/http_check.py [--quick] [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

Creates a scratch database (``spendlimits_bench_http``, dropped at the end unless --keep), seeds
1,000 users in one organization (every tier of the limit hierarchy in use) and 10,000 messages,
then for ``spendlimits serve`` with 1 and with 2 workers, at concurrency 1, 16 and 64:

- HTTP: ``DaemonCheck`` (clients/typescript/operations/daemonCheck.graphql) with a CHATD token,
  round-robin over 100 users, on keep-alive connections, from a small asyncio client in this
  process. Every answer must be a 200 with ``allowed: true, failedOpen: false``.
- The same with the registered document's id (``{"documentId": "sha256:..."}``, trusted
  documents) instead of its text, on the same server.
- Floor: the SQL one check runs, captured at the driver from the service's own code (the token
  statement of ``auth.tokens.verify_secret`` and the status statement of ``limits.status``),
  replayed with an asyncpg pool (pool size min(concurrency, 20), no reset query on release, like
  the service's SQLAlchemy pool; the session settings the service's connections set, so the same
  plans) at the same concurrency, from the same process.

The two alternate within each round so that machine drift hits both alike; each cell prints the
median round, with CPU per request of the client, the server and PostgreSQL. Ratio = HTTP
requests/s / floor requests/s (goal at concurrency 16: >= 0.45, with p99 <= 15 ms). The load
generator shares the machine's cores with the server and PostgreSQL. ``--baseline DIR/src`` adds
a server running another copy of the sources (``git archive REV src migrations | tar -x -C DIR``),
taking turns with the others: before/after figures from one run.

``--profile FILE`` instead runs one worker under concurrency-16 load and records it with py-spy
(``pip install py-spy``; not a dependency) as collapsed stacks, then prints where the time goes.
"""

import asyncio
import collections
import contextlib
import functools
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass, replace
from typing import Any

import asyncpg
import harness
import uvloop
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.auth.authenticator import Authenticator
from spendlimits.db.engine import create_engine
from spendlimits.limits.check import check
from spendlimits.settings import Settings

SCRATCH = "spendlimits_bench_http"
USERS = 1_000
MESSAGES = 10_000
CHECKED_USERS = 100
POOL_LIMIT = 20

DAEMON_CHECK = (harness.REPO / "clients/typescript/operations/daemonCheck.graphql").read_text()
# An answer decided on the database, whatever else the document selects (limits are out of reach,
# so every decided answer is an admission; a fallback would say "failedOpen":true).
EXPECT = b'"failedOpen":false'

Statement = tuple[str, tuple[Any, ...]]


@dataclass
class CapturedSql:
    verify: Statement
    #: One status statement per checked user.
    checks: list[Statement]
    #: What the service's connections set when they connect (pg_settings.source = 'client').
    session: dict[str, str]


async def capture_sql(url: str, token: str, users: list[Any]) -> CapturedSql:
    """The statements the service sends for a token verification and for a check of each user,
    as the driver receives them (SQL with $n placeholders, and the parameters)."""
    settings = replace(Settings.from_env(), pool_size=1, pool_max_overflow=0)
    engine: AsyncEngine = create_engine(url, settings)
    seen: list[Statement] = []
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT name, setting FROM pg_settings WHERE source = 'client'"))
            session = {name: setting for name, setting in rows if name != "application_name"}
        with harness.statements_sent(seen):
            principal = await Authenticator(engine, 10).authenticate(token)
            assert principal is not None
            (verify,) = seen  # autocommit: no BEGIN or COMMIT
            checks = []
            for user in users:
                seen.clear()
                result = await check(engine, user, timeout_seconds=10)
                assert result.allowed and not result.failed_open
                (status,) = seen
                checks.append(status)
    finally:
        await engine.dispose()
    return CapturedSql(verify, checks, session)


async def floor(
    url: str, sql: CapturedSql, concurrency: int, seconds: float
) -> tuple[harness.Run, harness.Cpu]:
    """The captured statements replayed with asyncpg: per check, the token statement then the status
    statement, on connections with the service's session settings."""

    async def no_reset(_: asyncpg.Connection) -> None:
        return None

    size = min(concurrency, POOL_LIMIT)
    pool = await asyncpg.create_pool(
        url, min_size=size, max_size=size, reset=no_reset, server_settings=sql.session
    )
    try:
        counter = 0
        verify, checks = sql.verify, sql.checks

        async def work(_: int) -> None:
            nonlocal counter
            counter += 1
            row = await pool.fetchrow(verify[0], *verify[1])
            assert row is not None
            statement, params = checks[counter % len(checks)]
            assert await pool.fetch(statement, *params)

        return await harness.measure_cpu(url, [], lambda: harness.closed_loop(concurrency, seconds, work))
    finally:
        await pool.close()


def _registered_daemon_check() -> str:
    """The id of DaemonCheck in the trusted-documents registry (written by `make client`)."""
    registry: dict[str, str] = json.loads(
        (harness.REPO / "src/spendlimits/static/trusted-documents.json").read_text()
    )
    return "sha256:" + next(key for key, text in registry.items() if "query DaemonCheck" in text)


def check_requests(port: int, token: str, users: list[Any], trusted: bool = False) -> list[bytes]:
    """One request body per user: the document's text, or (``trusted``) its registered id."""
    document: dict[str, str] = (
        {"documentId": _registered_daemon_check()} if trusted else {"query": DAEMON_CHECK}
    )
    return [
        harness.graphql_request(
            port,
            token,
            json.dumps(
                {**document, "operationName": "DaemonCheck", "variables": {"userId": str(u)}}
            ).encode(),
        )
        for u in users
    ]


def cells(run: harness.Run, cpu: harness.Cpu) -> list[str]:
    return [f"{run.rate:,.0f}", f"{run.p50:.1f} / {run.p99:.1f}", str(cpu)]


async def bench(
    url: str,
    seeded: harness.Seeded,
    workers: list[int],
    levels: list[int],
    rounds: int,
    seconds: float,
    baseline: str | None,
) -> None:
    users = seeded.users[:CHECKED_USERS]
    sql = await capture_sql(url, seeded.chatd_token, users)
    print(
        "# service session settings, used by the floor too: "
        + ", ".join(f"{k}={v}" for k, v in sql.session.items())
    )
    rows = []
    for count in workers:
        with contextlib.ExitStack() as stack:
            servers = {"now": stack.enter_context(harness.Server(url, workers=count))}
            if baseline:
                servers["before"] = stack.enter_context(
                    harness.Server(url, workers=count, env={"PYTHONPATH": baseline})
                )
            for concurrency in levels:
                runs: dict[str, list[tuple[harness.Run, harness.Cpu]]] = {
                    "floor": [],
                    "trusted": [],
                    **{k: [] for k in servers},
                }
                for _ in range(rounds):
                    runs["floor"].append(await floor(url, sql, concurrency, seconds))
                    for name, server in servers.items():
                        requests = check_requests(server.port, seeded.chatd_token, users)
                        runs[name].append(
                            await harness.measure_cpu(
                                url,
                                server.pids(),
                                functools.partial(
                                    harness.http_load, server.port, concurrency, seconds, requests, EXPECT
                                ),
                            )
                        )
                    # The same server, the registered document's id instead of its text.
                    trusted = check_requests(servers["now"].port, seeded.chatd_token, users, trusted=True)
                    runs["trusted"].append(
                        await harness.measure_cpu(
                            url,
                            servers["now"].pids(),
                            functools.partial(
                                harness.http_load, servers["now"].port, concurrency, seconds, trusted, EXPECT
                            ),
                        )
                    )
                for run, _ in (r for found in runs.values() for r in found):
                    if run.errors:
                        sys.exit(f"{run.errors} failed requests, first: {run.first_error}")
                median = {name: harness.median_run(found) for name, found in runs.items()}
                (http, _), (raw, _) = median["now"], median["floor"]
                row = [str(count), str(concurrency), *cells(*median["now"]), *cells(*median["floor"])]
                row.append(f"**{harness.ratio(http.rate, raw.rate)}**")
                trusted_run = median["trusted"][0]
                row += [
                    f"{trusted_run.rate:,.0f}",
                    f"{trusted_run.p50:.1f} / {trusted_run.p99:.1f}",
                    f"**{harness.ratio(trusted_run.rate, raw.rate)}**",
                ]
                if baseline:
                    before = median["before"][0]
                    row += [*cells(*median["before"]), harness.ratio(before.rate, raw.rate)]
                    row.append(harness.ratio(http.rate, before.rate))
                rows.append(row)
                churn = {name: sum(r.new_sessions for r, _ in found) for name, found in runs.items()}
                print(f"  workers={count} concurrency={concurrency}: " + " | ".join(row[2:]), flush=True)
                print(f"    PostgreSQL sessions opened during the runs: {churn}", flush=True)
    print()
    header = [
        "workers",
        "concurrency",
        "HTTP req/s",
        "HTTP p50 / p99 ms",
        "HTTP CPU µs/req: client / server / PG",
        "asyncpg req/s",
        "asyncpg p50 / p99 ms",
        "asyncpg CPU µs/req: client / - / PG",
        "HTTP / asyncpg",
        "documentId: req/s",
        "documentId: p50 / p99 ms",
        "documentId / asyncpg",
    ]
    if baseline:
        header += [
            "before: req/s",
            "before: p50 / p99 ms",
            "before: CPU µs/req",
            "before / asyncpg",
            "now / before",
        ]
    harness.print_table(header, rows)


# --- profile -----------------------------------------------------------------------------------


def summarize_profile(path: str, top: int = 25) -> None:
    """Own time (leaf frames) and total time (any frame) per function, from py-spy's collapsed stacks."""
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    samples = 0
    with open(path) as f:
        for line in f:
            stack, _, count_text = line.rstrip("\n").rpartition(" ")
            count = int(count_text)
            frames = [
                frame.split(" (")[0]
                + " "
                + frame.split(" (")[-1].split(":")[0].rsplit("/", 1)[-1].rstrip(")")
                for frame in stack.split(";")
            ]
            samples += count
            own[frames[-1]] += count
            for frame in set(frames):
                total[frame] += count
    print(f"\n{samples} samples. Own time (the function itself), top {top}:")
    for name, count in own.most_common(top):
        print(f"  {100 * count / samples:5.1f}%  {name}")
    print(f"\nTotal time (the function and what it calls), top {top * 2}:")
    for name, count in total.most_common(top * 2):
        print(f"  {100 * count / samples:5.1f}%  {name}")


async def profile(url: str, seeded: harness.Seeded, output: str, seconds: float) -> None:
    py_spy = shutil.which("py-spy") or str(harness.REPO / ".venv/bin/py-spy")
    users = seeded.users[:CHECKED_USERS]
    with harness.Server(url, workers=1) as server:
        requests = check_requests(server.port, seeded.chatd_token, users)
        await harness.http_load(server.port, 16, 2, requests, EXPECT)
        assert server.process is not None
        recorder = await asyncio.create_subprocess_exec(
            *(py_spy, "record", "--pid", str(server.process.pid), "--format", "raw", "--rate", "500"),
            *("--duration", str(int(seconds)), "--output", output, "--nonblocking"),
            stdout=subprocess.DEVNULL,
        )
        run = await harness.http_load(server.port, 16, seconds + 1, requests, EXPECT, warmup=0)
        await recorder.wait()
    print(f"under profile: {run.rate:,.0f} req/s, p50 {run.p50:.1f} ms, p99 {run.p99:.1f} ms")
    summarize_profile(output)


async def main() -> None:
    parser = harness.base_arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument(
        "--rounds", type=int, help="alternating HTTP/floor rounds per cell (default 3, quick 1)"
    )
    parser.add_argument("--seconds", type=float, help="seconds per timed run (default 5, quick 2)")
    parser.add_argument(
        "--baseline",
        metavar="SRC",
        help="also run a server from another copy of src/ (git archive REV src migrations | tar -x -C DIR; "
        "then DIR/src), alternating with this one: before/after figures from one run",
    )
    parser.add_argument("--profile", metavar="FILE", help="record one worker with py-spy into FILE instead")
    args = parser.parse_args()
    rounds = args.rounds or (1 if args.quick else 3)
    seconds = args.seconds or (2.0 if args.quick else 5.0)

    async with harness.scratch_database(args.database_url, SCRATCH, args.keep) as url:
        await harness.machine_notes(url)
        seeded = await harness.seed_directory(url, USERS)
        await harness.add_messages(url, seeded, MESSAGES)
        if args.profile:
            await profile(url, seeded, args.profile, seconds * 2)
            return
        print(
            f"# {USERS:,} users, {MESSAGES:,} messages; {rounds} round(s) of {seconds:g} s per cell, "
            "HTTP and floor alternating",
            flush=True,
        )
        await bench(url, seeded, args.workers, args.concurrency, rounds, seconds, args.baseline)


if __name__ == "__main__":
    uvloop.run(main())
