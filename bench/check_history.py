"""Benchmark: admission-check latency against history size, and what the rollup costs ingestion.

    .venv/bin/python bench/check_history.py [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

Creates a scratch database on that server (dropped at the end unless --keep), migrates it, and:

1. Check latency. Seeds a light user (10 messages this month) and a heavy one (1,000,000 messages
   this month, one INSERT ... SELECT generate_series; a minute or two), then times, for both, under
   plan_cache_mode = force_custom_plan and force_generic_plan:
   - the domain check (``spendlimits.limits.check.check``: resolution + rollup spend, one statement);
   - Coder's per-check design: resolution, then SUM(total_cost_micros) over the period's messages
     (``raw_spend``), as ``coderd``'s GetUserChatSpendInPeriod does.
   It prints median and p99 per user, and the ratio heavy/light (goal for the rollup: <= 1.2-1.5).
2. Ingestion. Times inserts of messages with the rollup trigger (since migration 000012 one append
   to the spend journal per statement; nothing folds during these runs, bench/contention.py measures
   the writers with a folder beside them), with a per-row upsert of the daily rollup instead, and with
   neither (ALTER TABLE ... DISABLE TRIGGER, scratch database only): single-row autocommit INSERTs, one
   writer and 16 concurrent writers for one user (the hot rollup row), and 1,000-row batches.
   Ratio = rows/s with triggers / rows/s without (goal >= 0.85). Rounds alternate between the two
   so machine drift hits both alike.

A script, not a test: figures depend on the machine. BENCHMARKS.md records a run.
"""

import argparse
import asyncio
import functools
import os
import platform
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import harness
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.db.engine import create_engine
from spendlimits.limits.check import check
from spendlimits.limits.periods import Period, period_bounds
from spendlimits.limits.resolution import effective_limit
from spendlimits.settings import Settings

# raw_spend is a verification helper kept with the tests, outside the package.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tests.limits.spend_reads import raw_spend

SCRATCH = "spendlimits_bench_check_history"
HEAVY_MESSAGES = 1_000_000
LIGHT_MESSAGES = 10
HEAVY_CHATS = 1_000
PLAN_MODES = ("force_custom_plan", "force_generic_plan")


def summary(samples: list[float]) -> tuple[float, float]:
    """(median, p99) in milliseconds."""
    ms = [s * 1000 for s in samples]
    return statistics.median(ms), statistics.quantiles(ms, n=100)[98]


async def timed(work: Callable[[], Awaitable[Any]], iterations: int, warmup: int = 10) -> list[float]:
    for _ in range(warmup):
        await work()
    samples = []
    for _ in range(iterations):
        started = time.perf_counter()
        await work()
        samples.append(time.perf_counter() - started)
    return samples


# --- setup -------------------------------------------------------------------------------------


async def seed(url: str, now: datetime, heavy_messages: int) -> dict[str, uuid.UUID]:
    """A light and a heavy user, a $1,000,000-a-month default limit, messages spread over this month
    up to now."""
    start, _ = period_bounds(Period.MONTH, now)
    span_seconds = max((now - start).total_seconds() - 1, 1)
    conn = await asyncpg.connect(url)
    try:
        org = await conn.fetchval("INSERT INTO organizations (name) VALUES ('bench') RETURNING id")
        ids = {}
        for name in ("light", "heavy"):
            ids[name] = await conn.fetchval("INSERT INTO users (username) VALUES ($1) RETURNING id", name)
            await conn.execute(
                "INSERT INTO organization_members (organization_id, user_id) VALUES ($1, $2)", org, ids[name]
            )
        await conn.execute(
            "UPDATE chat_usage_limit_config SET enabled = true, default_limit_micros = 1000000000000, period = 'month'"
        )
        light_chat = await conn.fetchval(
            "INSERT INTO chats (owner_id, organization_id) VALUES ($1, $2) RETURNING id", ids["light"], org
        )
        await conn.execute(
            """
            INSERT INTO chat_messages (chat_id, role, total_cost_micros, created_at)
            SELECT $1, 'assistant', 1000 + g, $2::timestamptz + make_interval(secs => $3::float8 * g / $4)
            FROM generate_series(1, $4) g
            """,
            light_chat,
            start,
            span_seconds,
            LIGHT_MESSAGES,
        )
        await conn.execute(
            """
            INSERT INTO chats (owner_id, organization_id)
            SELECT $1, $2 FROM generate_series(1, $3)
            """,
            ids["heavy"],
            org,
            HEAVY_CHATS,
        )
        print(f"seeding {heavy_messages:,} messages for the heavy user ...", flush=True)
        started = time.perf_counter()
        await conn.execute(
            """
            WITH chats AS (SELECT array_agg(id) AS ids FROM chats WHERE owner_id = $1)
            INSERT INTO chat_messages (chat_id, role, total_cost_micros, created_at)
            SELECT chats.ids[1 + g % $3], 'assistant', 1 + g % 5000,
                   $2::timestamptz + make_interval(secs => $4::float8 * g / $5)
            FROM chats, generate_series(1, $5) g
            """,
            ids["heavy"],
            start,
            HEAVY_CHATS,
            span_seconds,
            heavy_messages,
        )
        print(f"  seeded in {time.perf_counter() - started:.1f} s (rollup triggers included)", flush=True)
        # What the server's folder (every 200 ms) and autovacuum would do soon after such a load: the
        # checks then read the folded rollup, not the load's journal rows.
        await conn.execute("SELECT spendlimits_fold_spend_journal()")
        await conn.execute("VACUUM ANALYZE")
        days = await conn.fetchval("SELECT count(*) FROM chat_spend_daily WHERE user_id = $1", ids["heavy"])
        print(f"  heavy user's rollup rows this month: {days}")
    finally:
        await conn.close()
    return ids


def bench_engine(url: str, plan_cache_mode: str) -> AsyncEngine:
    """The service's own engine, plus a plan_cache_mode on each of its connections."""
    settings = replace(Settings.from_env(), statement_timeout_ms=60_000, pool_size=2, pool_max_overflow=0)
    engine = create_engine(url, settings)

    @event.listens_for(engine.sync_engine, "connect")
    def set_plan_cache_mode(dbapi_connection: Any, _: Any) -> None:
        dbapi_connection.run_async(lambda conn: conn.execute(f"SET plan_cache_mode = {plan_cache_mode}"))

    return engine


# --- 1. check latency --------------------------------------------------------------------------


async def rollup_check(engine: AsyncEngine, user_id: uuid.UUID) -> None:
    """The service's check, as the daemon gets it (minus HTTP)."""
    result = await check(engine, user_id, timeout_seconds=60)
    assert not result.failed_open and result.status is not None


async def coder_check(engine: AsyncEngine, user_id: uuid.UUID, now: datetime) -> bool:
    """Coder's design: resolve the limit, then sum every message of the period."""
    async with engine.connect() as conn:
        limit = await effective_limit(conn, user_id)
        assert limit is not None and limit.period is not None and limit.limit_micros is not None
        start, end = period_bounds(limit.period, now)
        spent = await raw_spend(conn, user_id, start, end)
    return spent < limit.limit_micros


async def bench_checks(
    url: str, ids: dict[str, uuid.UUID], heavy_messages: int, iterations: int, coder_heavy_iterations: int
) -> None:
    print("\n## Check latency (ms; median / p99)")
    light_label, heavy_label = f"{LIGHT_MESSAGES:,} msgs", f"{heavy_messages:,} msgs"
    header = f"{'plan_cache_mode':<20} {'design':<36} {light_label:>17} {heavy_label:>17} {'heavy/light':>12}"
    print(header)
    print("-" * len(header))
    for mode in PLAN_MODES:
        engine = bench_engine(url, mode)
        try:
            now = datetime.now(UTC)

            figures: dict[str, dict[str, tuple[float, float]]] = {"rollup": {}, "coder": {}}
            for name in ("light", "heavy"):
                user = ids[name]
                figures["rollup"][name] = summary(
                    await timed(functools.partial(rollup_check, engine, user), iterations)
                )
                coder_iterations = iterations if name == "light" else coder_heavy_iterations
                figures["coder"][name] = summary(
                    await timed(functools.partial(coder_check, engine, user, now), coder_iterations, warmup=6)
                )
            for design, label in (
                ("rollup", "rollup check (1 statement)"),
                ("coder", "Coder: resolve + SUM (2 statements)"),
            ):
                light, heavy = figures[design]["light"], figures[design]["heavy"]
                print(
                    f"{mode:<20} {label:<36} {light[0]:>7.3f} / {light[1]:>7.3f} {heavy[0]:>7.3f} / {heavy[1]:>7.3f}"
                    f" {heavy[0] / light[0]:>11.2f}x"
                )
        finally:
            await engine.dispose()


# --- 2. ingestion ------------------------------------------------------------------------------

STATEMENT_TRIGGER = "chat_messages_rollup_insert"
ROW_TRIGGER = "bench_rollup_row_insert"

# A candidate design, installed in the scratch database only, to compare with the statement-level
# trigger (the spend journal's append since migration 000012): one upsert per priced row into the
# daily rollup (its folded table; no period totals, no journal), no transition table.
ROW_TRIGGER_SQL = f"""
CREATE FUNCTION bench_rollup_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO chat_spend_daily_folded AS d (user_id, day, organization_id, spend_micros)
    SELECT c.owner_id, (NEW.created_at AT TIME ZONE 'UTC')::date, c.organization_id, NEW.total_cost_micros
    FROM chats c WHERE c.id = NEW.chat_id
    ON CONFLICT (user_id, day, organization_id)
    DO UPDATE SET spend_micros = d.spend_micros + EXCLUDED.spend_micros;
    RETURN NULL;
END;
$$;
CREATE TRIGGER {ROW_TRIGGER} AFTER INSERT ON chat_messages
    FOR EACH ROW WHEN (NEW.total_cost_micros IS NOT NULL) EXECUTE FUNCTION bench_rollup_row();
"""

#: design -> (statement trigger on, row trigger on)
DESIGNS = {"statement trigger": (True, False), "row trigger": (False, True), "no rollup": (False, False)}


async def use_design(
    conn: "asyncpg.Connection[Any] | asyncpg.pool.PoolConnectionProxy[Any]", design: str
) -> None:
    statement_on, row_on = DESIGNS[design]
    await conn.execute(
        f"ALTER TABLE chat_messages {'ENABLE' if statement_on else 'DISABLE'} TRIGGER {STATEMENT_TRIGGER};"
        f"ALTER TABLE chat_messages {'ENABLE' if row_on else 'DISABLE'} TRIGGER {ROW_TRIGGER}"
    )


async def single_rows(pool: asyncpg.Pool, chat: uuid.UUID, rows: int, writers: int) -> float:
    """Rows per second of one-row autocommit INSERTs by ``writers`` concurrent connections."""
    per_writer = rows // writers

    async def writer() -> None:
        async with pool.acquire() as conn:
            statement = await conn.prepare(
                "INSERT INTO chat_messages (chat_id, role, total_cost_micros) VALUES ($1, 'assistant', 7)"
            )
            for _ in range(per_writer):
                await statement.fetch(chat)

    started = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(writers)))
    return per_writer * writers / (time.perf_counter() - started)


async def batches(pool: asyncpg.Pool, chats: list[uuid.UUID], batch_count: int, batch_size: int) -> float:
    """Rows per second of INSERT ... SELECT FROM unnest batches (many chats and users per batch)."""
    async with pool.acquire() as conn:
        statement = await conn.prepare(
            """
            INSERT INTO chat_messages (chat_id, role, total_cost_micros)
            SELECT c, 'assistant', 7 FROM unnest($1::uuid[]) c
            """
        )
        batch = [chats[i % len(chats)] for i in range(batch_size)]
        started = time.perf_counter()
        for _ in range(batch_count):
            await statement.fetch(batch)
        return batch_count * batch_size / (time.perf_counter() - started)


async def bench_ingestion(url: str, rounds: int, single: int, batch_count: int, batch_size: int) -> None:
    print("\n## Ingestion (rows/s, median of rounds; designs alternate within each round)")
    pool = await asyncpg.create_pool(url, min_size=16, max_size=16)
    assert pool is not None
    try:
        async with pool.acquire() as conn:
            await conn.execute(ROW_TRIGGER_SQL)
            org = await conn.fetchval("INSERT INTO organizations (name) VALUES ('ingest') RETURNING id")
            users = [
                await conn.fetchval("INSERT INTO users (username) VALUES ($1) RETURNING id", f"writer{i}")
                for i in range(8)
            ]
            chats = [
                await conn.fetchval(
                    "INSERT INTO chats (owner_id, organization_id) VALUES ($1, $2) RETURNING id", user, org
                )
                for user in users
            ]
        cases: list[tuple[str, Callable[[], Awaitable[float]]]] = [
            ("single-row INSERT, 1 writer", lambda: single_rows(pool, chats[0], single, 1)),
            ("single-row INSERT, 16 writers, one user", lambda: single_rows(pool, chats[0], single, 16)),
            ("single-row INSERT, 16 writers, 8 users", lambda: multi_user(pool, chats, single)),
            (f"{batch_size}-row batches, 8 users", lambda: batches(pool, chats, batch_count, batch_size)),
        ]
        names = list(DESIGNS)
        header = f"{'case':<42}" + "".join(f"{n:>19}" for n in names) + f"{'stmt/none':>11}{'row/none':>10}"
        print(header)
        print("-" * len(header))
        for label, case in cases:
            rates: dict[str, list[float]] = {n: [] for n in names}
            for design in names:
                # Warm-up: connections, prepared statements and plpgsql's caches, per design.
                async with pool.acquire() as conn:
                    await use_design(conn, design)
                await case()
            for round_number in range(rounds):
                order = names[round_number % len(names) :] + names[: round_number % len(names)]
                for design in order:
                    async with pool.acquire() as conn:
                        await use_design(conn, design)
                    rates[design].append(await case())
            medians = {n: statistics.median(r) for n, r in rates.items()}
            none = medians["no rollup"]
            print(
                f"{label:<42}"
                + "".join(f"{medians[n]:>19,.0f}" for n in names)
                + f"{medians['statement trigger'] / none:>11.2f}{medians['row trigger'] / none:>10.2f}"
            )
        async with pool.acquire() as conn:
            await use_design(conn, "no rollup")
        await same_statement_upsert(pool, chats[2], single, rounds)
        async with pool.acquire() as conn:
            await use_design(conn, "statement trigger")
    finally:
        await pool.close()


SAME_STATEMENT = """
WITH m AS (
    INSERT INTO chat_messages (chat_id, role, total_cost_micros) VALUES ($1, 'assistant', 7)
    RETURNING chat_id, created_at, total_cost_micros
)
INSERT INTO chat_spend_daily_folded AS d (user_id, day, organization_id, spend_micros)
SELECT c.owner_id, (m.created_at AT TIME ZONE 'UTC')::date, c.organization_id, m.total_cost_micros
FROM m JOIN chats c ON c.id = m.chat_id
WHERE m.total_cost_micros IS NOT NULL
ON CONFLICT (user_id, day, organization_id) DO UPDATE SET spend_micros = d.spend_micros + EXCLUDED.spend_micros
"""


async def same_statement_upsert(pool: asyncpg.Pool, chat: uuid.UUID, rows: int, rounds: int) -> None:
    """The design docs/design.md describes: the rollup upsert riding in the message's own INSERT
    statement (triggers off), against the bare INSERT."""

    async def run(sql: str) -> float:
        async with pool.acquire() as conn:
            statement = await conn.prepare(sql)
            started = time.perf_counter()
            for _ in range(rows):
                await statement.fetch(chat)
            return rows / (time.perf_counter() - started)

    bare = "INSERT INTO chat_messages (chat_id, role, total_cost_micros) VALUES ($1, 'assistant', 7)"
    await run(bare)
    await run(SAME_STATEMENT)
    rates: dict[str, list[float]] = {"bare": [], "same": []}
    for round_number in range(rounds):
        for name in ("bare", "same") if round_number % 2 == 0 else ("same", "bare"):
            rates[name].append(await run(bare if name == "bare" else SAME_STATEMENT))
    same, bare_rate = statistics.median(rates["same"]), statistics.median(rates["bare"])
    print(
        f"{'single-row INSERT + upsert in one statement':<42}{same:>19,.0f}"
        f"  (bare INSERT {bare_rate:,.0f}; ratio {same / bare_rate:.2f})"
    )


async def multi_user(pool: asyncpg.Pool, chats: list[uuid.UUID], rows: int) -> float:
    """16 writers spread over 8 users' chats: contention on rollup rows only between pairs."""
    per_writer = rows // 16

    async def writer(chat: uuid.UUID) -> None:
        async with pool.acquire() as conn:
            statement = await conn.prepare(
                "INSERT INTO chat_messages (chat_id, role, total_cost_micros) VALUES ($1, 'assistant', 7)"
            )
            for _ in range(per_writer):
                await statement.fetch(chat)

    started = time.perf_counter()
    await asyncio.gather(*(writer(chats[i % len(chats)]) for i in range(16)))
    return per_writer * 16 / (time.perf_counter() - started)


async def machine_notes(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        version = await conn.fetchval("SHOW server_version")
        settings = {
            name: await conn.fetchval(f"SHOW {name}")
            for name in ("shared_buffers", "synchronous_commit", "jit", "max_connections")
        }
    finally:
        await conn.close()
    print(f"# Machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"# PostgreSQL {version}; " + ", ".join(f"{k}={v}" for k, v in settings.items()))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres",
        help="any database on the server to use; a scratch database is created next to it",
    )
    parser.add_argument("--heavy-messages", type=int, default=HEAVY_MESSAGES)
    parser.add_argument("--iterations", type=int, default=2000, help="timed checks per user and design")
    parser.add_argument("--coder-heavy-iterations", type=int, default=30, help="Coder's SUM is slow at 1M")
    parser.add_argument("--ingest-rounds", type=int, default=5)
    parser.add_argument("--ingest-single-rows", type=int, default=4000)
    parser.add_argument("--ingest-batches", type=int, default=20)
    parser.add_argument("--ingest-batch-size", type=int, default=1000)
    parser.add_argument("--skip-checks", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()

    server_url = args.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    # Migrations up to 000013: the ingestion designs compared below include its journal's trigger
    # (000014 replaced it; bench/contention.py --rollup-only measures the design that did, and
    # bench/unfolded_reads.py the check on it). The service's own recording, which writes 000014's
    # columns, is measured by bench/ingest.py.
    async with harness.scratch_database(server_url, SCRATCH, keep=args.keep, target=13) as url:
        await machine_notes(url)
        if not args.skip_checks:
            ids = await seed(url, datetime.now(UTC) - timedelta(seconds=1), args.heavy_messages)
            await bench_checks(url, ids, args.heavy_messages, args.iterations, args.coder_heavy_iterations)
        await bench_ingestion(
            url, args.ingest_rounds, args.ingest_single_rows, args.ingest_batches, args.ingest_batch_size
        )


if __name__ == "__main__":
    asyncio.run(main())
