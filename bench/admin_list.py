"""Benchmark: the admin user list with each user's limit and status, DataLoaders against N+1.

    .venv/bin/python bench/admin_list.py [--quick] [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

Creates a scratch database (``spendlimits_bench_list``, dropped at the end unless --keep) with
10,000 users (quick: 1,000) in one organization, every tier of the limit hierarchy in use, and
100,000 messages (quick: 10,000), half of them the first user's. Then, for ``users(first: 10)``
and ``users(first: 100)`` with ``effectiveChatSpendLimit`` and ``chatUsageLimitStatus`` (the
document is ``ADMIN_USERS`` below), as an OWNER:

- through the real schema in this process, alternating, timed and with every statement counted
  at the driver (asyncpg):
  - **DataLoaders**: the service as it is (one statement per loader batch);
  - **N+1**: the same schema with the two limit loaders made to load one user per batch, as
    resolvers that each query for their own user would: one status statement per user through the
    domain function, concurrently, as GraphQL resolves list items;
  - **DataLoaders, plan_cache_mode = auto**: the service with PostgreSQL's default plan choice
    instead of the generic plans the service's connections ask for (db/engine.py);
- over HTTP against ``spendlimits serve`` (1 worker): latency of the DataLoader version, and
  the statements it ran according to the server's own ``spendlimits_db_statements_total``.

``--growth`` (``--million``) instead measures one page of the list as the directory grows to 1k,
10k, 100k (and 1M) users: first page and a page mid-list (keyset cursor) of 10 and 100 users, and
the first page with ``totalCount``, over HTTP; the last column is the largest size ÷ 1k.
"""

import base64
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from functools import cached_property
from typing import Any

import asyncpg
import harness
import uvloop
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from strawberry.dataloader import DataLoader

from spendlimits.auth.authenticator import Authenticator
from spendlimits.auth.principal import Principal
from spendlimits.db.engine import create_engine
from spendlimits.graphql.context import Context
from spendlimits.graphql.loaders import Loaders
from spendlimits.graphql.loaders.batch import by_id
from spendlimits.graphql.schema import schema
from spendlimits.limits.resolution import EffectiveLimit, LimitKey, effective_limits
from spendlimits.limits.status import Status, StatusKey, statuses
from spendlimits.settings import Settings

SCRATCH = "spendlimits_bench_list"

ADMIN_USERS = """
query AdminUsers($first: Int!) {
  users(first: $first) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      id
      username
      effectiveChatSpendLimit { source limitMicros period group { name } }
      chatUsageLimitStatus {
        isLimited limitSource spendLimitMicros currentSpendMicros remainingMicros exceeded periodEnd
      }
    }
  }
}
"""


class OneUserPerBatch(Loaders):
    """What resolvers without DataLoaders do: each user's limit and status on its own."""

    @cached_property
    def effective_limit(self) -> DataLoader[LimitKey, EffectiveLimit | None]:
        return DataLoader(by_id(self.engine, effective_limits), max_batch_size=1, cache=False)

    @cached_property
    def limit_status(self) -> DataLoader[StatusKey, Status | None]:
        return DataLoader(by_id(self.engine, statuses), max_batch_size=1, cache=False)


class NaiveContext(Context):
    def __post_init__(self) -> None:
        self.loaders = OneUserPerBatch(self.engine)


def make_context(
    kind: type[Context], engine: AsyncEngine, settings: Settings, principal: Principal
) -> Context:
    scope = {"type": "http", "method": "POST", "path": "/graphql", "headers": [], "state": {}}
    return kind(
        request=Request(scope),
        response=None,
        engine=engine,
        settings=settings,
        principal=principal,
        started_at=time.monotonic(),
    )


Execute = Callable[[int], Awaitable[None]]


def executor(kind: type[Context], engine: AsyncEngine, settings: Settings, principal: Principal) -> Execute:
    async def run(first: int) -> None:
        result = await schema.execute(
            ADMIN_USERS,
            variable_values={"first": first},
            context_value=make_context(kind, engine, settings, principal),
        )
        assert result.errors is None, result.errors
        assert result.data is not None and len(result.data["users"]["nodes"]) == first

    return run


def auto_plans(engine: AsyncEngine) -> AsyncEngine:
    @event.listens_for(engine.sync_engine, "connect")
    def set_auto(dbapi_connection: Any, _: Any) -> None:
        dbapi_connection.run_async(lambda conn: conn.execute("SET plan_cache_mode = auto"))

    return engine


async def in_process(url: str, seeded: harness.Seeded, sizes: list[int], iterations: int) -> None:
    settings = Settings.from_env()
    engine = create_engine(url, settings)
    auto_engine = auto_plans(create_engine(url, settings))
    try:
        principal = await Authenticator(engine, 10).authenticate(seeded.owner_token)
        assert principal is not None
        designs = {
            "DataLoaders (the service)": executor(Context, engine, settings, principal),
            "N+1: one limit and one status statement per user": executor(
                NaiveContext, engine, settings, principal
            ),
            "DataLoaders, plan_cache_mode = auto": executor(Context, auto_engine, settings, principal),
        }
        rows = []
        for first in sizes:
            counts: dict[str, tuple[int, int]] = {}
            for name, run in designs.items():
                seen: list[tuple[str, tuple[Any, ...]]] = []
                await run(first)  # warm: prepared statements, pool
                with harness.statements_sent(seen):
                    await run(first)
                counts[name] = harness.split_statements(seen)
            samples: dict[str, list[float]] = {name: [] for name in designs}
            for _ in range(iterations):
                for name, run in designs.items():
                    started = time.perf_counter()
                    await run(first)
                    samples[name].append(time.perf_counter() - started)
            base = statistics.median(samples["DataLoaders (the service)"])
            for name, found in samples.items():
                median = statistics.median(found)
                p95 = statistics.quantiles(found, n=20)[18] if len(found) > 1 else median
                statements, control = counts[name]
                rows.append(
                    [
                        f"users(first: {first})",
                        name,
                        statements,
                        control,
                        f"{median * 1000:.1f} / {p95 * 1000:.1f}",
                        f"{median / base:.2f}",
                    ]
                )
        harness.print_table(
            [
                "query",
                "design",
                "SQL statements",
                "BEGIN/ROLLBACK round trips",
                "latency ms, median / p95",
                "latency ÷ DataLoaders'",
            ],
            rows,
        )
    finally:
        await engine.dispose()
        await auto_engine.dispose()


async def over_http(url: str, seeded: harness.Seeded, sizes: list[int], iterations: int) -> None:
    with harness.Server(url, workers=1) as server:
        async with harness.http_connections(server.port, 1) as (connection,):
            metrics = (
                f"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {seeded.owner_token}\r\n\r\n"
            ).encode()

            async def statements_so_far() -> float:
                status, body = await connection.send(metrics)
                assert status == 200
                for line in body.decode().splitlines():
                    if line.startswith("spendlimits_db_statements_total "):
                        return float(line.split()[1])
                raise AssertionError("no spendlimits_db_statements_total")

            rows = []
            for first in sizes:
                request = harness.graphql_request(
                    server.port,
                    seeded.owner_token,
                    json.dumps({"query": ADMIN_USERS, "variables": {"first": first}}).encode(),
                )
                expect = b'"totalCount":'

                async def list_users(request: bytes = request, expect: bytes = expect) -> None:
                    status, body = await connection.send(request)
                    assert status == 200 and expect in body and b'"errors"' not in body, body[:300]

                await list_users()
                before = await statements_so_far()
                await list_users()
                # The /metrics request's own token check counts one statement.
                statements = await statements_so_far() - before - 1
                samples = []
                for _ in range(iterations):
                    started = time.perf_counter()
                    await list_users()
                    samples.append(time.perf_counter() - started)
                run = harness.Run(samples, sum(samples))
                rows.append(
                    [
                        f"users(first: {first})",
                        f"{statements:.0f}",
                        f"{run.p50:.1f} / {run.p99:.1f}",
                        f"{run.rate:.0f}",
                    ]
                )
    harness.print_table(
        [
            "query over HTTP (1 worker, one client)",
            "SQL statements (token check included)",
            "p50 / p99 ms",
            "lists/s",
        ],
        rows,
    )


PAGE = """
query Page($first: Int!, $after: String) {
  users(first: $first, after: $after) { nodes { id username name } pageInfo { hasNextPage endCursor } }
}
"""
PAGE_WITH_TOTAL = """
query PageWithTotal($first: Int!, $after: String) {
  users(first: $first, after: $after) {
    nodes { id username name } pageInfo { hasNextPage endCursor } totalCount
  }
}
"""


def key_cursor(username: str, user_id: str) -> str:
    """A keyset cursor as the API hands them out (graphql/pagination.py), for a page mid-list."""
    payload = json.dumps([username, user_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(f"key:{payload}".encode()).decode()


async def grow_to(url: str, total: int) -> tuple[str, str]:
    """Adds plain users until the directory has ``total``; returns the middle user's sort key."""
    conn = await asyncpg.connect(url)
    try:
        have = await conn.fetchval("SELECT count(*) FROM users")
        if total > have:
            await conn.execute(
                "INSERT INTO users (username, name) SELECT 'g' || lpad(g::text, 8, '0'), 'Grown ' || g"
                " FROM generate_series($1::bigint, $2::bigint) g",
                have + 1,
                total,
            )
        await conn.execute("VACUUM ANALYZE users")
        row = await conn.fetchrow(
            "SELECT username, id::text FROM users WHERE NOT deleted ORDER BY username, id OFFSET $1 LIMIT 1",
            total // 2,
        )
    finally:
        await conn.close()
    assert row is not None, "the middle of a list of users that was just filled"
    return row["username"], row["id"]


async def growth(url: str, seeded: harness.Seeded, totals: list[int], iterations: int) -> None:
    """One page of the user list as the directory grows: first and middle pages, 10 and 100 users,
    with and without totalCount, over HTTP (1 worker, one client)."""
    cells: dict[str, list[float]] = {}
    with harness.Server(url, workers=1) as server:
        for total in totals:
            middle = key_cursor(*await grow_to(url, total))
            # A new connection per size: growing to 1M users outlasts uvicorn's keep-alive timeout.
            async with harness.http_connections(server.port, 1) as (connection,):
                for first in (10, 100):
                    for label, document, after in (
                        ("first page", PAGE, None),
                        ("first page + totalCount", PAGE_WITH_TOTAL, None),
                        ("middle page (keyset cursor)", PAGE, middle),
                    ):
                        body = json.dumps({"query": document, "variables": {"first": first, "after": after}})
                        request = harness.graphql_request(server.port, seeded.owner_token, body.encode())
                        samples = []
                        for attempt in range(iterations + 3):
                            started = time.perf_counter()
                            status, answer = await connection.send(request)
                            elapsed = time.perf_counter() - started
                            assert status == 200 and b'"errors"' not in answer, answer[:300]
                            assert answer.count(b'"username"') == first, answer[:300]
                            if attempt >= 3:
                                samples.append(elapsed)
                        cells.setdefault(f"users(first: {first}), {label}", []).append(
                            statistics.median(samples) * 1000
                        )
                latest = ", ".join(f"{name}: {values[-1]:.1f}" for name, values in cells.items())
                print(f"  {total:,} users: {latest} (ms)", flush=True)
    rows = [
        [name, *(f"{v:.1f}" for v in values), f"**{values[-1] / values[0]:.2f}**"]
        for name, values in cells.items()
    ]
    harness.print_table(
        ["page (median ms over HTTP)", *(f"{t:,} users" for t in totals), f"{totals[-1]:,} ÷ {totals[0]:,}"],
        rows,
    )


async def main() -> None:
    parser = harness.base_arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, help="users to seed (default 10,000, quick 1,000)")
    parser.add_argument("--messages", type=int, help="messages to seed (default 100,000, quick 10,000)")
    parser.add_argument(
        "--iterations", type=int, help="timed lists per design and size (default 100, quick 15)"
    )
    parser.add_argument(
        "--growth",
        action="store_true",
        help="instead: one page as the directory grows to 1k, 10k, 100k users (quick: 1k, 10k)",
    )
    parser.add_argument("--million", action="store_true", help="with --growth: also 1,000,000 users")
    args = parser.parse_args()
    if args.growth:
        totals = [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000]
        if args.million:
            totals.append(1_000_000)
        async with harness.scratch_database(args.database_url, SCRATCH, args.keep) as url:
            await harness.machine_notes(url)
            seeded = await harness.seed_directory(url, 500)
            print(f"# {args.iterations or 30} timed pages per cell, after 3 untimed\n", flush=True)
            await growth(url, seeded, totals, args.iterations or 30)
        return
    user_count = args.users or (1_000 if args.quick else 10_000)
    message_count = args.messages or (10_000 if args.quick else 100_000)
    iterations = args.iterations or (15 if args.quick else 100)
    sizes = [10, 100]
    async with harness.scratch_database(args.database_url, SCRATCH, args.keep) as url:
        await harness.machine_notes(url)
        seeded = await harness.seed_directory(url, user_count)
        await harness.add_messages(url, seeded, message_count)
        print(
            f"# {user_count:,} users, {message_count:,} messages; {iterations} timed lists per cell\n",
            flush=True,
        )
        await in_process(url, seeded, sizes, iterations)
        print()
        await over_http(url, seeded, sizes, iterations)


if __name__ == "__main__":
    uvloop.run(main())
