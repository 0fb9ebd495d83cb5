"""Benchmark: the spend ranking and spend history at 100k users and 1M messages this month.

    .venv/bin/python bench/ranking.py [--quick] [--journal-rows N] [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

Creates a scratch database (``spendlimits_bench_ranking``, dropped at the end unless --keep) with
100,000 users (quick: 10,000) in one organization (harness.seed_directory: two limited groups,
own overrides for every 7th user), then 1,000,000 priced messages (quick: 100,000) in two months:

- **month to date**: this month from its first day up to now (what "this month" holds today);
- **whole month**: every day of the previous month, asked about at its last day: the most rollup
  rows a month can have (the worst case for the ranking's aggregation).

The messages are inserted by four sessions at once (as through a pool of connections in
production). They are unfolded until the benchmark folds them (migration 000014: the messages
past the last fold's snapshot), as the server's folder would have: one folded row per user and
period. Spend is skewed as in real
deployments (user i's share of messages ~ (1 - u)^3 over a random u: a few heavy users, a long
tail); the default limit is set to the 99th percentile of monthly spend, the groups to 2x and 0.5x
of it and own overrides to 3x, so about 1% of users are at their limit and the share filter has
something to find.

For each month and request: which path answered, how many statements it ran and the median time
spent in them (the service's own ``spendlimits_db_statements_total`` and statement-duration sum:
the database's time plus the round trips, without the Python around them), and the median wall
time of ``insight.ranking.ranking`` in this process; first with everything folded, then again
with ``--journal-rows`` recent writes left unfolded in the period (one-message inserts, each an
unfolded row, users picked with the same skew; what the readers pay for writes the folder has not
reached yet, normally a fold interval's). Also the general statement (every user
resolved) once, as the baseline pruning avoids, and the history loader's statement for 10 and 100
users x 30 days (constant statements: one per batch; time should follow the number of rows, not the
number of messages).
"""

import asyncio
import functools
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import harness
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits import metrics
from spendlimits.db.engine import create_engine
from spendlimits.insight import ranking as ranking_module
from spendlimits.insight.history import Subject, histories, history_key
from spendlimits.insight.ranking import RankingOrder, RankingRequest, general_ranking, ranking
from spendlimits.limits.periods import Period, period_bounds
from spendlimits.settings import Settings

SCRATCH = "spendlimits_bench_ranking"
STATEMENTS = "spendlimits_db_statements_total"
STATEMENT_SECONDS = "spendlimits_db_statement_duration_seconds_sum"


#: Sessions that insert the messages at once, as through a pool of connections.
SESSIONS = 4
#: Recent writes left unfolded for the second measurement of each month, by default.
JOURNAL_ROWS = 2_000


async def add_skewed_messages(
    url: str, chats: list[uuid.UUID], count: int, start: datetime, end: datetime
) -> float:
    """``count`` messages over [start, end), users picked with a skew toward the first chats,
    inserted by SESSIONS sessions at once (message g by session g % SESSIONS)."""
    began = time.perf_counter()
    sessions = [await asyncpg.connect(url, command_timeout=3600) for _ in range(SESSIONS)]

    async def insert(k: int, conn: asyncpg.Connection) -> None:
        await conn.execute("SELECT setseed($1)", 0.42 + k / 100)
        await conn.execute(
            """
            INSERT INTO chat_messages (chat_id, role, total_cost_micros, created_at)
            SELECT ($1::uuid[])[1 + floor(cardinality($1::uuid[]) * power(random(), 3))::int],
                   'assistant', 1 + (g::bigint * 7919) % 5000,
                   $2::timestamptz + make_interval(secs => $3::float8 * g / $4)
            FROM generate_series(1 + $5::int, $4, $6) g
            """,
            chats,
            start,
            max((end - start).total_seconds() - 1, 1),
            count,
            k,
            SESSIONS,
        )

    try:
        await asyncio.gather(*(insert(k, conn) for k, conn in enumerate(sessions)))
        # What the server's folder would have done since (migration 000012).
        await sessions[0].execute("SELECT spendlimits_fold_spend_journal()")
        await sessions[0].execute("VACUUM ANALYZE")
    finally:
        for conn in sessions:
            await conn.close()
    return time.perf_counter() - began


async def add_recent_writes(url: str, chats: list[uuid.UUID], count: int, day: datetime) -> int:
    """``count`` one-message inserts on ``day`` (one statement each: the writes the folder has not
    reached yet), users picked with the seed's skew; returns how many rows are unfolded."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SELECT setseed(0.77)")
        picks = await conn.fetch(
            """
            SELECT ($1::uuid[])[1 + floor(cardinality($1::uuid[]) * power(random(), 3))::int] AS chat,
                   1 + (g::bigint * 7919) % 5000 AS cost
            FROM generate_series(1, $2) g
            """,
            chats,
            count,
        )
        await conn.executemany(
            "INSERT INTO chat_messages (chat_id, role, total_cost_micros, created_at) VALUES ($1, 'assistant', $2, $3)",
            [(r["chat"], r["cost"], day) for r in picks],
        )
        return int(await conn.fetchval("SELECT count(*) FROM chat_spend_unfolded"))
    finally:
        await conn.close()


async def fold(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SELECT spendlimits_fold_spend_journal()")
        await conn.execute("VACUUM ANALYZE chat_spend_journal")
        await conn.execute("ANALYZE chat_messages")
    finally:
        await conn.close()


async def set_limits(url: str, first_day: datetime, end_day: datetime) -> int:
    """Default = the 99th percentile of monthly spend; groups 2x and 0.5x, own overrides 3x."""
    conn = await asyncpg.connect(url)
    try:
        p99 = await conn.fetchval(
            """
            SELECT percentile_disc(0.99) WITHIN GROUP (ORDER BY s) FROM (
                SELECT sum(spend_micros) AS s FROM chat_spend_daily
                WHERE day >= $1 AND day < $2 GROUP BY user_id) t
            """,
            first_day.date(),
            end_day.date(),
        )
        limit = int(p99 or 1)
        await conn.execute(
            "UPDATE chat_usage_limit_config SET default_limit_micros = $1, period = 'month'", limit
        )
        await conn.execute(
            "UPDATE groups SET chat_spend_limit_micros = $1 WHERE name = 'every-3rd'", 2 * limit
        )
        await conn.execute(
            "UPDATE groups SET chat_spend_limit_micros = $1 WHERE name = 'every-5th'", limit // 2
        )
        await conn.execute(
            "UPDATE users SET chat_spend_limit_micros = $1 WHERE chat_spend_limit_micros IS NOT NULL",
            3 * limit,
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return limit


def _sample(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


@dataclass
class Timing:
    wall_ms: float
    statement_ms: float
    statements: float
    result: Any


async def timed(runs: int, work: Callable[[], Awaitable[Any]]) -> Timing:
    """Medians over ``runs`` after one warm-up: wall time, time in statements, statements."""
    result = await work()
    walls, in_statements, counts = [], [], []
    for _ in range(runs):
        statements, seconds = _sample(STATEMENTS), _sample(STATEMENT_SECONDS)
        began = time.perf_counter()
        result = await work()
        walls.append((time.perf_counter() - began) * 1000)
        in_statements.append((_sample(STATEMENT_SECONDS) - seconds) * 1000)
        counts.append(_sample(STATEMENTS) - statements)
    return Timing(
        statistics.median(walls), statistics.median(in_statements), statistics.median(counts), result
    )


def _row(name: str, path: str, t: Timing) -> list[Any]:
    return [
        name,
        path,
        f"{t.statements:.0f}",
        f"{t.statement_ms:.0f}",
        f"{t.wall_ms:.0f}",
        t.result.total_count,
    ]


async def measure_month(
    engine: AsyncEngine, organization: uuid.UUID, at: datetime, runs: int, *, baseline: bool = True
) -> list[list[Any]]:
    requests = [
        ("SPEND_DESC", RankingOrder.SPEND_DESC, None, None),
        ("SPEND_DESC, organization", RankingOrder.SPEND_DESC, organization, None),
        ("SHARE_OF_LIMIT_DESC", RankingOrder.SHARE_OF_LIMIT_DESC, None, None),
        ("SHARE_OF_LIMIT_DESC, minShare 0.8", RankingOrder.SHARE_OF_LIMIT_DESC, None, 0.8),
    ]
    rows = []
    async with engine.connect() as conn:
        for name, order, org, min_share in requests:
            request = RankingRequest(order, org, min_share, at, 50, 0)
            pruned = None
            if ranking_module.uses_resolution(order, org, min_share):
                pruned = await ranking_module.pruned_ranking(conn, request)
            path = (
                "by spend"
                if not ranking_module.uses_resolution(order, org, min_share)
                else ("pruned" if pruned is not None else "general")
            )

            async def run(
                o: RankingOrder = order, g: uuid.UUID | None = org, m: float | None = min_share
            ) -> Any:
                return await ranking(conn, order=o, organization_id=g, min_share=m, at=at, limit=50, offset=0)

            t = await timed(runs, run)
            rows.append(_row(name, path, t))
        if not baseline:
            return rows
        every_user = RankingRequest(RankingOrder.SHARE_OF_LIMIT_DESC, None, None, at, 50, 0)
        # Longer than the service's statement timeout allows: that is the point of the baseline.
        await conn.exec_driver_sql("SET statement_timeout = '120s'")
        t = await timed(1, lambda: general_ranking(conn, every_user))
        rows.append(_row("SHARE_OF_LIMIT_DESC, every user resolved (baseline)", "general", t))
    return rows


async def measure_history(
    engine: AsyncEngine, users: list[uuid.UUID], at: datetime, runs: int
) -> list[list[Any]]:
    rows = []
    async with engine.connect() as conn:
        for count in (10, 100):
            keys = [
                history_key(Subject.USER, u, at - timedelta(days=30), at, Period.DAY) for u in users[:count]
            ]
            t = await timed(runs, functools.partial(histories, conn, keys))
            points = sum(len(s.points) for s in t.result.values())
            rows.append(
                [
                    f"{count} users x 30 days (DAY)",
                    f"{t.statements:.0f}",
                    f"{t.statement_ms:.1f}",
                    f"{t.wall_ms:.1f}",
                    points,
                ]
            )
    return rows


async def main() -> None:
    parser = harness.base_arguments(__doc__.splitlines()[0])
    parser.add_argument(
        "--journal-rows",
        type=int,
        default=JOURNAL_ROWS,
        help="recent writes left unfolded for each month's second measurement (0: none)",
    )
    args = parser.parse_args()
    users, messages, runs = (10_000, 100_000, 3) if args.quick else (100_000, 1_000_000, 5)
    await harness.machine_notes(args.database_url)
    print(f"# {users:,} users, {messages:,} messages in each month; median of {runs} runs, first page of 50")
    async with harness.scratch_database(args.database_url, SCRATCH, keep=args.keep) as url:
        seeded = await harness.seed_directory(url, users)
        engine = create_engine(url, Settings.from_env())
        metrics.instrument_engine(engine, 1)
        now = datetime.now(UTC)
        this_start, _ = period_bounds(Period.MONTH, now)
        last_start, last_end = period_bounds(Period.MONTH, this_start - timedelta(days=1))
        seconds = await add_skewed_messages(url, seeded.chats, messages, this_start, now)
        seconds += await add_skewed_messages(url, seeded.chats, messages, last_start, last_end)
        print(f"# seeded in {seconds:.0f} s", flush=True)
        try:
            for label, at, (first, end) in (
                ("month to date", now, (this_start, now + timedelta(days=1))),
                ("whole month", last_end - timedelta(hours=1), (last_start, last_end)),
            ):
                limit = await set_limits(url, first, end)
                conn = await asyncpg.connect(url)
                try:
                    rollup_rows = await conn.fetchval(
                        "SELECT count(*) FROM chat_spend_daily WHERE day >= $1 AND day < $2",
                        first.date(),
                        end.date(),
                    )
                    total_rows = await conn.fetchval(
                        """
                        SELECT count(*) FROM chat_spend_period_totals_folded
                        WHERE period = 'month' AND period_start = $1
                        """,
                        first.date(),
                    )
                finally:
                    await conn.close()
                header = ["request", "answered by", "statements", "ms in statements", "ms wall", "totalCount"]
                print(
                    f"\n## {label}: {rollup_rows:,} rollup rows in the period, {total_rows:,} folded rows of"
                    f" month totals, default limit {limit:,} micros\n\n### everything folded\n"
                )
                harness.print_table(header, await measure_month(engine, seeded.organization, at, runs))
                if args.journal_rows:
                    # Recent writes: the day of ``at``, inside the period.
                    unfolded = await add_recent_writes(url, seeded.chats, args.journal_rows, at)
                    print(f"\n### {unfolded:,} rows not folded\n")
                    harness.print_table(
                        header, await measure_month(engine, seeded.organization, at, runs, baseline=False)
                    )
                    await fold(url)
            print("\n## spend history (one statement per batch)\n")
            harness.print_table(
                ["series", "statements", "ms in statements", "ms wall", "points"],
                await measure_history(engine, seeded.users, now, runs),
            )
        finally:
            await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
