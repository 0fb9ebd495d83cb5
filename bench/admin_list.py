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
"""

import json
import statistics
import time
from collections.abc import Awaitable, Callable
from functools import cached_property
from typing import Any

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


async def main() -> None:
    parser = harness.base_arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, help="users to seed (default 10,000, quick 1,000)")
    parser.add_argument("--messages", type=int, help="messages to seed (default 100,000, quick 10,000)")
    parser.add_argument(
        "--iterations", type=int, help="timed lists per design and size (default 100, quick 15)"
    )
    args = parser.parse_args()
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
