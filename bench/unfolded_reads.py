"""Benchmark: what a decision pays to read its user's spend not yet folded, migration 000014 (the
watermark: the messages past the last fold's snapshot) against 000013 (the journal), in one run.

    .venv/bin/python bench/unfolded_reads.py [--quick] [--keep] [--database-url ...]

Two scratch databases (dropped unless --keep), one migrated up to 000013 and one fully, seeded
alike: 1,000 users with a chat each (``harness.seed_directory``), and three users with 1, 100 and
1,000 chats, 20 messages in each, all folded and analyzed. Then, step by step, what is left
unfolded grows: none; 3 recent messages of the user (on 3 of their chats); 2,000 more of other
users (one fold interval of about 10,000 writes a second); 20,000 more (a folder two seconds
behind); then everything is folded again. Every message is its own INSERT, as the chat daemon
writes them (so 000013 journals one row each). At each step, the statement a check runs
(``spendlimits_statuses`` for one user, prepared, one connection) is timed for each user: median ms
of ``--calls`` calls, the two databases taking turns.
"""

import statistics
import time
import uuid
from datetime import UTC, datetime

import asyncpg
import harness
import uvloop

from spendlimits.limits.status import window_params

#: The last migration whose trigger journals every insert.
JOURNAL = 13
STATUSES = """
SELECT spend_micros FROM spendlimits_statuses(
    ARRAY[$1::uuid], ARRAY[NULL::uuid], $2::bigint[], $3::text[], $4::date[], $5::date[], $6::timestamptz)
"""
INSERT = "INSERT INTO chat_messages (chat_id, role, total_cost_micros) VALUES ($1, 'assistant', 7)"
#: (the user's chats, messages in each before the measurements)
USERS = ((1, 20), (100, 20), (1_000, 20))


async def seed(url: str) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    """The three measured users, and the other users' chats."""
    seeded = await harness.seed_directory(url, 1000)
    conn = await asyncpg.connect(url)
    try:
        measured = seeded.users[10 : 10 + len(USERS)]
        for user, (chats, messages) in zip(measured, USERS, strict=True):
            await conn.execute(
                "INSERT INTO chats (owner_id, organization_id) SELECT $1, $2 FROM generate_series(2, $3)",
                user,
                seeded.organization,
                chats,
            )
            await conn.execute(
                "INSERT INTO chat_messages (chat_id, role, total_cost_micros)"
                " SELECT c.id, 'assistant', 7 FROM chats c, generate_series(1, $2) WHERE c.owner_id = $1",
                user,
                messages,
            )
        await conn.execute("SELECT spendlimits_fold_spend_journal()")
        await conn.execute("VACUUM ANALYZE")
        others = [
            r["id"]
            for r in await conn.fetch(
                "SELECT id FROM chats WHERE owner_id <> ALL($1::uuid[]) ORDER BY id", list(measured)
            )
        ]
    finally:
        await conn.close()
    return list(measured), others


async def one_by_one(url: str, chats: list[uuid.UUID]) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.executemany(INSERT, [(chat,) for chat in chats])
    finally:
        await conn.close()


async def own_recent(url: str, user: uuid.UUID) -> None:
    conn = await asyncpg.connect(url)
    try:
        chats = [r["id"] for r in await conn.fetch("SELECT id FROM chats WHERE owner_id = $1 LIMIT 3", user)]
    finally:
        await conn.close()
    await one_by_one(url, chats)


async def fold(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SELECT spendlimits_fold_spend_journal()")
    finally:
        await conn.close()


async def timed(url: str, users: list[uuid.UUID], calls: int) -> tuple[list[float], list[int]]:
    """Median ms of the check's statement for each user, and the spend it read."""
    now = datetime.now(UTC)
    windows = window_params([now])
    args = (
        windows["window_keys"],
        windows["window_periods"],
        windows["window_first_days"],
        windows["window_end_days"],
        now,
    )
    conn = await asyncpg.connect(url)
    try:
        statement = await conn.prepare(STATUSES)
        medians, spends = [], []
        for user in users:
            spends.append(int(await statement.fetchval(user, *args)))
            seconds = []
            for _ in range(calls):
                started = time.perf_counter()
                await statement.fetchval(user, *args)
                seconds.append(time.perf_counter() - started)
            medians.append(statistics.median(seconds) * 1000)
    finally:
        await conn.close()
    return medians, spends


async def main() -> None:
    parser = harness.base_arguments(__doc__ or "")
    parser.add_argument("--calls", type=int, help="timed calls per user and step (default 300; quick 60)")
    args = parser.parse_args()
    calls = args.calls or (60 if args.quick else 300)
    others_steps = (200, 1_800) if args.quick else (2_000, 18_000)
    async with (
        harness.scratch_database(
            args.database_url, "spendlimits_bench_reads_journal", args.keep, target=JOURNAL
        ) as journal_url,
        harness.scratch_database(args.database_url, "spendlimits_bench_reads_watermark", args.keep) as url,
    ):
        await harness.machine_notes(url)
        databases = {"000013 (journal)": journal_url, "000014 (watermark)": url}
        seeded = {label: await seed(db) for label, db in databases.items()}

        async def step(label: str) -> list[list[str]]:
            figures = {name: await timed(db, seeded[name][0], calls) for name, db in databases.items()}
            (old, old_spend), (new, new_spend) = figures.values()
            assert old_spend == new_spend, f"{label}: the two designs read {old_spend} and {new_spend}"
            return [
                [label, f"{chats:,}", f"{a:.3f}", f"{b:.3f}", f"{b / a:.2f}"]
                for (chats, _), a, b in zip(USERS, old, new, strict=True)
            ]

        rows = await step("everything folded")
        for name, db in databases.items():
            for user in seeded[name][0]:
                await own_recent(db, user)
        rows += await step("+ 3 of the user's messages unfolded")
        unfolded_others = 0
        for count in others_steps:
            for name, db in databases.items():
                others = seeded[name][1]
                await one_by_one(
                    db, [others[i % len(others)] for i in range(unfolded_others, unfolded_others + count)]
                )
            unfolded_others += count
            rows += await step(f"+ {unfolded_others:,} of other users' unfolded")
        for db in databases.values():
            await fold(db)
        rows += await step("folded again")
    harness.print_table(["unfolded", "the user's chats", "000013: ms", "000014: ms", "000014 / 000013"], rows)


if __name__ == "__main__":
    uvloop.run(main())
