"""Benchmark: what each part of the spend journal's append costs a writer, lever by lever
(issue "Decisions that hold under contention": 16 writers of one user >= 0.85 of plain inserts).

    .venv/bin/python bench/journal_levers.py [--quick] [--rounds N] [--database-url ...]

Scratch database ``spendlimits_bench_journal_levers`` (dropped unless --keep), migrated up to
000013 (the last migration that journals every insert; 000014 replaced that with the watermark
measured last below), 1,000 seeded users. Each case is one way to keep the journal, installed in
the scratch database only (the migrations are not touched):

- plain inserts: the journal's trigger disabled (the yardstick, as in ``contention.py``);
- 000012's trigger: the journal as shipped (one row per statement and (user, day, organization),
  grouped, through the statement trigger and its transition table);
- no GROUP BY: the same statement trigger appending one row per priced message;
- row trigger: ``FOR EACH ROW`` with a ``WHEN`` on the cost, one row per priced message;
- in the statement: the INSERT and the append in one statement (a data-modifying CTE), no trigger;
- no CHECK, no index: 000012's statement appending to a copy of the journal without its
  ``delta_micros <> 0`` and its ``user_id`` index;
- a watermark instead of a journal (not a design of the service, its writer's side only): no
  trigger, the message carries its transaction id (``pg_current_xact_id()``) in a column with an
  index on (chat, transaction id), so that a folder could read the messages past a snapshot;
  then the same with a second index for the folder, on the transaction id alone: a BRIN, or a
  B-tree (the indexes 000014 started from; it then keys the first by owner, not chat, and adds
  the message's attribution: ``contention.py --rollup-only`` measures that writer).

Two loads, both in autocommit, each writer its own connection: 16 writers of ONE user (one chat)
sending one-message INSERTs, and 4 writers sending 100-message INSERTs (the batch path's shape).
No folder runs beside the writers: this measures the append alone (``contention.py --rollup-only``
measures the fold's share). The journals are emptied between runs, off the clock. The cases take
turns (each round starts one case later); the figure to read is the median of each round's ratio to
its own plain run, as a machine whose load drifts blurs it least.

Then what that watermark would cost a decision, which then reads its user's messages past the
watermark through each of the user's chats (the messages carry no user): that read for a user
with 1, 100 and 1,000 chats, against today's probe of the journal by user (median ms of the
statement alone, one connection, after 20 old messages per chat and 3 recent ones).

Then the fold: ``spendlimits_fold_spend_journal()`` as migrated against migration 000012's (taken
from 000013's down file), each folding the same journals in turn: 1,600 rows of one user (what 16
writers leave in a 200 ms interval) and 100,000 rows of 1,000 users (a backlog after a stall),
one row per message as the writers append them. Median ms of the fold's statement, one connection.
"""

import asyncio
import os
import statistics
import time
import uuid
from dataclasses import dataclass

import asyncpg
import harness
import uvloop

#: The last migration whose trigger journals every insert: the schema these levers are measured on.
JOURNAL_MIGRATION = 13
#: Migration 000012's fold, to measure against 000013's: its text, as 000013 puts it back.
FOLD_000012 = (harness.REPO / "migrations" / "000013_fold_by_day.down.sql").read_text()

#: The writers' statements: one message, or ``BATCH`` messages, of one chat; ``{columns}`` and
#: ``{values}`` take the watermark's transaction id, or nothing.
ONE = "INSERT INTO chat_messages (chat_id, role, total_cost_micros{columns}) VALUES ($1, 'assistant', 7{values})"
BATCH = 100
MANY = (
    "INSERT INTO chat_messages (chat_id, role, total_cost_micros{columns})"
    f" SELECT $1, 'assistant', 7{{values}} FROM generate_series(1, {BATCH})"
)
#: The append riding in the writer's statement: the INSERT's rows, joined to their chat.
IN_STATEMENT = """
WITH m AS ({insert} RETURNING chat_id, created_at, total_cost_micros)
INSERT INTO chat_spend_journal (user_id, day, organization_id, delta_micros)
SELECT c.owner_id, (m.created_at AT TIME ZONE 'UTC')::date, c.organization_id, sum(m.total_cost_micros)
FROM m JOIN chats c ON c.id = m.chat_id
WHERE m.total_cost_micros IS NOT NULL
GROUP BY 1, 2, 3
HAVING sum(m.total_cost_micros) <> 0
"""

#: The variants, created disabled. Each appends what 000012's trigger appends, differently.
SETUP = """
CREATE TABLE lever_bare_journal (
    user_id uuid NOT NULL, day date NOT NULL, organization_id uuid NOT NULL, delta_micros bigint NOT NULL
);
CREATE FUNCTION lever_ungrouped() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO chat_spend_journal (user_id, day, organization_id, delta_micros)
    SELECT c.owner_id, (m.created_at AT TIME ZONE 'UTC')::date, c.organization_id, m.total_cost_micros
    FROM new_rows m JOIN chats c ON c.id = m.chat_id
    WHERE m.total_cost_micros <> 0;
    RETURN NULL;
END $$;
CREATE FUNCTION lever_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO chat_spend_journal (user_id, day, organization_id, delta_micros)
    SELECT c.owner_id, (NEW.created_at AT TIME ZONE 'UTC')::date, c.organization_id, NEW.total_cost_micros
    FROM chats c WHERE c.id = NEW.chat_id;
    RETURN NULL;
END $$;
CREATE FUNCTION lever_bare() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO lever_bare_journal (user_id, day, organization_id, delta_micros)
    SELECT c.owner_id, (m.created_at AT TIME ZONE 'UTC')::date, c.organization_id, sum(m.total_cost_micros)
    FROM new_rows m JOIN chats c ON c.id = m.chat_id
    WHERE m.total_cost_micros IS NOT NULL
    GROUP BY 1, 2, 3
    HAVING sum(m.total_cost_micros) <> 0;
    RETURN NULL;
END $$;
-- The watermark's writer: its transaction id on the message, indexed for a read by chat. The
-- other cases leave the column NULL, so the partial index costs them nothing.
ALTER TABLE chat_messages ADD COLUMN lever_xid xid8;
CREATE INDEX lever_xid_idx ON chat_messages (chat_id, lever_xid) WHERE lever_xid IS NOT NULL;
-- The same, plus an index for a folder that reads every chat's messages past a watermark: a BRIN
-- (xid8 has no BRIN operator class in PostgreSQL 15, so the id is a bigint here) or a B-tree.
ALTER TABLE chat_messages ADD COLUMN lever_xb bigint;
CREATE INDEX lever_xb_idx ON chat_messages (chat_id, lever_xb) WHERE lever_xb IS NOT NULL;
CREATE INDEX lever_xb_brin ON chat_messages USING brin (lever_xb) WHERE lever_xb IS NOT NULL;
ALTER TABLE chat_messages ADD COLUMN lever_xt xid8;
CREATE INDEX lever_xt_idx ON chat_messages (chat_id, lever_xt) WHERE lever_xt IS NOT NULL;
CREATE INDEX lever_xt_alone ON chat_messages (lever_xt) WHERE lever_xt IS NOT NULL;
CREATE TRIGGER lever_ungrouped AFTER INSERT ON chat_messages REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION lever_ungrouped();
CREATE TRIGGER lever_row AFTER INSERT ON chat_messages FOR EACH ROW
    WHEN (NEW.total_cost_micros IS NOT NULL AND NEW.total_cost_micros <> 0) EXECUTE FUNCTION lever_row();
CREATE TRIGGER lever_bare AFTER INSERT ON chat_messages REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION lever_bare();
"""
#: Every trigger a case may enable; a run enables its own (if any) and disables the others.
TRIGGERS = ("chat_messages_rollup_insert", "lever_ungrouped", "lever_row", "lever_bare")


@dataclass(frozen=True)
class Case:
    label: str
    #: The trigger that journals this case's inserts; None: no trigger (plain, or in the statement).
    trigger: str | None
    #: The append rides in the writer's statement.
    in_statement: bool = False
    #: No journal: the message carries its transaction id (the watermark's writer).
    watermark: bool = False
    #: ... and a BRIN on the id, for a folder.
    brin: bool = False
    #: ... and a B-tree on the id, for a folder.
    two: bool = False

    def statement(self, insert: str) -> str:
        if self.two:
            return insert.format(columns=", lever_xt", values=", pg_current_xact_id()")
        if self.brin:
            return insert.format(columns=", lever_xb", values=", pg_current_xact_id()::text::bigint")
        if self.watermark:
            return insert.format(columns=", lever_xid", values=", pg_current_xact_id()")
        plain = insert.format(columns="", values="")
        return IN_STATEMENT.format(insert=plain) if self.in_statement else plain


PLAIN = Case("plain inserts (journal trigger off)", None)
CASES = (
    PLAIN,
    Case("000012's trigger (as shipped)", "chat_messages_rollup_insert"),
    Case("statement trigger, no GROUP BY", "lever_ungrouped"),
    Case("row trigger", "lever_row"),
    Case("in the statement (CTE), no trigger", None, in_statement=True),
    Case("000012's trigger, journal without CHECK and index", "lever_bare"),
    Case("no journal: a transaction id on the message, indexed (a watermark's writer)", None, watermark=True),
    Case("the same, and a BRIN on the id (a bigint)", None, brin=True),
    Case("the same, and a B-tree on the id", None, two=True),
)


@dataclass(frozen=True)
class Load:
    label: str
    writers: int
    insert: str
    #: Messages per statement.
    size: int
    #: Statements per writer and run.
    count: int


async def use(admin: asyncpg.Connection, case: Case) -> None:
    """Enables ``case``'s trigger alone, then empties the journals (off the clock)."""
    actions = [
        f"ALTER TABLE chat_messages {'ENABLE' if name == case.trigger else 'DISABLE'} TRIGGER {name}"
        for name in TRIGGERS
    ]
    await admin.execute("; ".join(actions))
    # The real journal is folded, as the server would; the bare copy has no reader to fold for.
    await admin.fetchval("SELECT spendlimits_fold_spend_journal()")
    await admin.execute("TRUNCATE lever_bare_journal")


async def run(url: str, admin: asyncpg.Connection, case: Case, load: Load, chat: uuid.UUID) -> float:
    """Messages/s of ``load``'s writers, all of one chat, under ``case``."""
    await use(admin, case)
    conns = [await asyncpg.connect(url) for _ in range(load.writers)]
    statement = case.statement(load.insert)
    try:

        async def writer(conn: asyncpg.Connection) -> None:
            for _ in range(load.count):
                await conn.execute(statement, chat)

        started = time.perf_counter()
        await asyncio.gather(*(writer(c) for c in conns))
        elapsed = time.perf_counter() - started
    finally:
        for conn in conns:
            await conn.close()
    return load.writers * load.count * load.size / elapsed


async def measure(url: str, load: Load, chat: uuid.UUID, rounds: int) -> None:
    admin = await asyncpg.connect(url)
    try:
        # Untimed: connections, plans and PL/pgSQL's caches of each case once, a quarter of the count.
        warm = Load(load.label, load.writers, load.insert, load.size, max(load.count // 4, 1))
        for case in CASES:
            await run(url, admin, case, warm, chat)
        rates: dict[Case, list[float]] = {case: [] for case in CASES}
        for n in range(rounds):
            before = os.getloadavg()[0]
            for case in CASES[n % len(CASES) :] + CASES[: n % len(CASES)]:
                rates[case].append(await run(url, admin, case, load, chat))
            figures = ", ".join(f"{rates[c][-1] / rates[PLAIN][-1]:.2f}" for c in CASES[1:])
            print(
                f"# {load.label}, round {n + 1} (load {before:.2f} -> {os.getloadavg()[0]:.2f}):"
                f" plain {rates[PLAIN][-1]:.0f} msg/s; of plain: {figures}",
                flush=True,
            )
        await use(admin, CASES[1])  # leave the database as migrated
    finally:
        await admin.close()
    rows = []
    for case in CASES:
        ratios = [r / p for r, p in zip(rates[case], rates[PLAIN], strict=True)]
        rows.append(
            [
                case.label,
                f"{statistics.median(rates[case]):.0f}",
                f"{statistics.median(ratios):.2f}",
                f"{min(ratios):.2f}-{max(ratios):.2f}",
            ]
        )
    harness.print_table([load.label, "msg/s (median)", "of plain, per round", "range"], rows)


#: A decision's read of its user's spend not yet folded: today's, and the watermark's.
JOURNAL_READ = "SELECT coalesce(sum(delta_micros), 0) FROM chat_spend_journal WHERE user_id = $1"
WATERMARK_READ = """
SELECT coalesce(sum(m.total_cost_micros), 0)
FROM chats c
JOIN chat_messages m ON m.chat_id = c.id AND m.lever_xid IS NOT NULL
 AND m.lever_xid >= pg_snapshot_xmin($2::text::pg_snapshot) AND NOT pg_visible_in_snapshot(m.lever_xid, $2::text::pg_snapshot)
WHERE c.owner_id = $1
"""


async def statement_ms(conn: asyncpg.Connection, query: str, *args: object, count: int = 200) -> float:
    statement = await conn.prepare(query)
    seconds = []
    for _ in range(count):
        started = time.perf_counter()
        await statement.fetchval(*args)
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds) * 1000


async def watermark_reads(url: str, seeded: harness.Seeded) -> None:
    """A decision's unfolded read with a watermark, by the user's number of chats, against the
    journal's probe: each user gets chats up to the count, 20 messages per chat before the
    watermark's snapshot and one on each of 3 chats after it."""
    conn = await asyncpg.connect(url)
    try:
        rows = []
        for n, user in ((1, seeded.users[10]), (100, seeded.users[11]), (1000, seeded.users[12])):
            await conn.execute(
                "INSERT INTO chats (owner_id, organization_id) SELECT $1, $2 FROM generate_series(2, $3)",
                user,
                seeded.organization,
                n,
            )
            old_and_recent = (
                "INSERT INTO chat_messages (chat_id, role, total_cost_micros, lever_xid)"
                " SELECT c.id, 'assistant', 7, pg_current_xact_id()"
                " FROM (SELECT id FROM chats WHERE owner_id = $1 ORDER BY id LIMIT $2) c, generate_series(1, $3)"
            )
            await conn.execute(old_and_recent, user, n, 20)
            snapshot = await conn.fetchval("SELECT pg_current_snapshot()::text")
            await conn.execute(old_and_recent, user, 3, 1)
            await conn.execute("ANALYZE chats; ANALYZE chat_messages")
            # The recent messages alone: one on each of (up to) 3 chats.
            assert await conn.fetchval(WATERMARK_READ, user, snapshot) == min(n, 3) * 7
            watermark = await statement_ms(conn, WATERMARK_READ, user, snapshot)
            journal = await statement_ms(conn, JOURNAL_READ, user)
            rows.append([f"{n:,}", f"{watermark:.3f}", f"{journal:.3f}"])
    finally:
        await conn.close()
    harness.print_table(["the user's chats", "watermark: ms", "journal: ms (today)"], rows)
    print()


async def folds(url: str, seeded: harness.Seeded, repeats: int) -> None:
    """The current fold against 000012's, on the same journals, taking turns."""
    conn = await asyncpg.connect(url)
    try:
        # Empty, and as autovacuum keeps it: the writers' runs above left its heap thousands of
        # pages long, every one of which a fold's scan would read.
        await conn.fetchval("SELECT spendlimits_fold_spend_journal()")
        await conn.execute("VACUUM chat_spend_journal")
        await conn.execute(FOLD_000012.replace("spendlimits_fold_spend_journal()", "bench_fold_000012()"))
        rows = []
        for label, size, users in (
            ("1,600 rows, one user", 1_600, seeded.users[1:2]),
            ("100,000 rows, 1,000 users", 100_000, seeded.users[:1000]),
        ):
            seconds: dict[str, list[float]] = {"spendlimits_fold_spend_journal": [], "bench_fold_000012": []}
            for n in range(repeats):
                for function in list(seconds)[n % 2 :] + list(seconds)[: n % 2]:
                    # One row per message, as the writers append them, of today in the members' org.
                    await conn.execute(
                        "INSERT INTO chat_spend_journal (user_id, day, organization_id, delta_micros)"
                        " SELECT u[1 + g % cardinality(u)], current_date, $3, 7"
                        " FROM generate_series(1, $1) g, (SELECT $2::uuid[] AS u) users",
                        size,
                        users,
                        seeded.organization,
                    )
                    started = time.perf_counter()
                    moved = await conn.fetchval(f"SELECT {function}()")
                    seconds[function].append(time.perf_counter() - started)
                    assert moved == size, f"{function} moved {moved} of {size} rows"
            current, old = (statistics.median(v) * 1000 for v in seconds.values())
            rows.append([label, f"{current:.1f}", f"{old:.1f}", f"{current / old:.2f}"])
        await conn.execute("DROP FUNCTION bench_fold_000012()")
    finally:
        await conn.close()
    harness.print_table(
        [f"a fold of (median of {repeats})", "current ms", "000012's ms", "current / 000012's"], rows
    )


async def main() -> None:
    parser = harness.base_arguments(__doc__ or "")
    parser.add_argument("--rounds", type=int, help="rounds per load (default 7; quick 2)")
    parser.add_argument("--folds-only", action="store_true", help="only the folds, not the writers")
    args = parser.parse_args()
    rounds = args.rounds or (2 if args.quick else 7)
    singles = 200 if args.quick else 1000
    loads = (
        Load("16 writers of one user, 1 message per INSERT", 16, ONE, 1, singles),
        Load(f"4 writers of one user, {BATCH} messages per INSERT", 4, MANY, BATCH, singles // 20),
    )
    # The journal's study: migrations up to 000013, whose trigger appended every insert's spend to the
    # journal (000014 replaced the append with the cases it measures last).
    async with harness.scratch_database(
        args.database_url, "spendlimits_bench_journal_levers", args.keep, target=JOURNAL_MIGRATION
    ) as url:
        await harness.machine_notes(url)
        seeded = await harness.seed_directory(url, 1000)
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(SETUP)
            await conn.execute(
                "; ".join(f"ALTER TABLE chat_messages DISABLE TRIGGER {t}" for t in TRIGGERS[1:])
            )
        finally:
            await conn.close()
        for load in () if args.folds_only else loads:
            await measure(url, load, seeded.chats[1], rounds)
            print()
        await watermark_reads(url, seeded)
        await folds(url, seeded, 4 if args.quick else 10)


if __name__ == "__main__":
    uvloop.run(main())
