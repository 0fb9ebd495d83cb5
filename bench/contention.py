"""Benchmark: reserve -> settle cycles under contention, over HTTP, against the same statements sent by
raw asyncpg in the same run (issue "Decisions that hold under contention").

    .venv/bin/python bench/contention.py [--quick] [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

Scratch database ``spendlimits_bench_contention`` (dropped unless --keep), 1,000 seeded users. For
1 and 2 server processes (uvicorn workers), FAIL_OPEN and FAIL_CLOSED, and 1, 8, 32, 64 concurrent
clients: cycles on ONE user and cycles spread over the 1,000 users. Prints cycles/s, p50/p99 per
cycle, fallback answers (failedOpen/failedClosed/503) and micros still held afterwards; beside it
the raw figure: the same two calls the service makes (``spendlimits_reserve``, then
``spendlimits_settle``) sent by an asyncpg pool, and an HTTP check's p50 for "a cycle <= 3x a
check". That ratio is also measured on its own (``--pairs``): one client alternates a check and a
cycle of one user, so both see the same load. Goals: 0 fallbacks, 0 leftover holds; cycle p50 <= 3x check p50; one user at 64 concurrent
>= 0.5 of raw.

Then the hot rollup row: 16 concurrent writers record one-message INSERTs of ONE user (one chat,
one day) for a fixed count each, with the rollup triggers on, against the same INSERTs with them
disabled ("plain inserts"). Goal: >= 0.85. ``--rollup-only`` runs only this, with the rollup
trigger functions of migrations 000003 (daily rollup without the period totals), 000008 (with
them) and 000011 (the current one: one-row inserts on a path of their own, in a slot no concurrent
writer of the user holds), taking turns. ``--rollup-only --forms`` compares instead where the
rollup's statements run (BENCHMARKS.md, "16 writers of one user: the rollup in the INSERT
statement"): the current trigger, and the one-message INSERT as a data-modifying CTE that also does
the rollup's upserts and queues no trigger event (in the scratch database only: a ``rolled_up``
column and a row trigger guarded by it), with and without the period totals, a journal append, and
the current trigger with a user per writer (what the rollup costs when no two writers share a user);
each case also prints how many index entries each upsert's arbiter probe read.
"""

import asyncio
import contextlib
import json
import os
import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import harness
import uvloop

from spendlimits.limits.status import window_params

RESERVE = """mutation ($input: ReserveChatSpendInput!) { reserveChatSpend(input: $input) {
  reservation { id } check { failedOpen failedClosed } errors { code } } }"""
SETTLE = """mutation ($input: SettleChatSpendInput!) { settleChatSpend(input: $input) { errors { code } } }"""
CHECK = "query ($user: ID!) { chatUsageLimitCheck(userId: $user) { allowed failedOpen failedClosed } }"
ESTIMATE = 1_000
#: The raw settles' request digest: any fixed value (each reservation's key is its own).
DIGEST = bytes(32)


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000


class Http:
    """The load generator's side of HTTP: keep-alive connections of the harness's lean client (a
    few byte searches per answer), not a general HTTP library. The servers share two cores with
    PostgreSQL and this process; a client library that spends a millisecond per request, as httpx
    does, measured itself more than the service at 64 clients."""

    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token

    async def post(self, conn: harness.HttpConnection, query: str, variables: dict[str, Any]) -> Any:
        """The answer's ``data`` (None for a non-200 answer or a null ``data``)."""
        body = json.dumps({"query": query, "variables": variables}).encode()
        status, answer = await conn.send(harness.graphql_request(self.port, self.token, body))
        return json.loads(answer).get("data") if status == 200 else None

    def reserve(self, conn: harness.HttpConnection, user: uuid.UUID) -> Any:
        return self.post(conn, RESERVE, {"input": {"userId": str(user), "estimateMicros": ESTIMATE}})

    def settle(self, conn: harness.HttpConnection, reservation: str, chat: uuid.UUID) -> Any:
        message = {"chatId": str(chat), "role": "ASSISTANT", "totalCostMicros": ESTIMATE}
        return self.post(conn, SETTLE, {"input": {"reservationId": reservation, "message": message}})

    def check(self, conn: harness.HttpConnection, user: uuid.UUID) -> Any:
        return self.post(conn, CHECK, {"user": str(user)})


async def http_cycles(
    port: int, token: str, users: list[tuple[uuid.UUID, uuid.UUID]], clients: int, total: int
) -> tuple[float, list[float], int]:
    """(cycles/s, per-cycle seconds, fallbacks) for ``total`` cycles from ``clients`` clients."""
    http = Http(port, token)
    samples: list[float] = []
    fallbacks = 0
    remaining = [total]
    async with harness.http_connections(port, clients) as connections:

        async def client(n: int) -> None:
            nonlocal fallbacks
            rng = random.Random(n)  # noqa: S311 - load shape, not secrets
            conn = connections[n]
            while remaining[0] > 0:
                remaining[0] -= 1
                user, chat = rng.choice(users)
                started = time.perf_counter()
                try:
                    data = await http.reserve(conn, user)
                except ConnectionError:
                    # A connection the loaded server dropped: no answer, counted with the fallbacks;
                    # this client stops and the others take its share.
                    fallbacks += 1
                    return
                payload = data["reserveChatSpend"] if data else None
                if payload is None or payload["check"] is None:
                    fallbacks += 1
                    continue
                if payload["check"]["failedOpen"] or payload["check"]["failedClosed"]:
                    fallbacks += 1
                    continue
                if payload["reservation"] is None:
                    continue
                # A settle that gets no answer leaves its hold: the "held" column shows it.
                with contextlib.suppress(ConnectionError):
                    await http.settle(conn, payload["reservation"]["id"], chat)
                samples.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(client(n) for n in range(clients)))
        elapsed = time.perf_counter() - started
    return len(samples) / elapsed, samples, fallbacks


async def http_check_p50(port: int, token: str, user: uuid.UUID, count: int) -> float:
    http = Http(port, token)
    samples = []
    async with harness.http_connections(port, 1) as [conn]:
        for _ in range(count):
            started = time.perf_counter()
            await http.check(conn, user)
            samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


async def paired(port: int, token: str, user: uuid.UUID, chat: uuid.UUID, pairs: int) -> tuple[float, float]:
    """(check p50, cycle p50) in ms from one client alternating a check and a reserve -> settle
    cycle of the same user, so that both see the same load: the ratio "a cycle <= 3x a check"."""
    http = Http(port, token)
    checks: list[float] = []
    cycles: list[float] = []
    async with harness.http_connections(port, 1) as [conn]:
        for n in range(pairs + 5):
            started = time.perf_counter()
            await http.check(conn, user)
            checked = time.perf_counter()
            data = await http.reserve(conn, user)
            held = data["reserveChatSpend"]["reservation"] if data else None
            if held is not None:
                await http.settle(conn, held["id"], chat)
            if n >= 5 and held is not None:  # the first few warm the connection and the server
                checks.append(checked - started)
                cycles.append(time.perf_counter() - checked)
    if not checks:  # every reserve fell back (a starved server): nothing to compare
        return float("nan"), float("nan")
    return statistics.median(checks) * 1000, statistics.median(cycles) * 1000


async def raw_cycles(url: str, users: list[tuple[uuid.UUID, uuid.UUID]], clients: int, total: int) -> float:
    """The same two calls as the service (reserve, then settle) from an asyncpg pool: the floor."""
    pool = await asyncpg.create_pool(
        url,
        min_size=min(clients, 20),
        max_size=min(clients, 20),
        server_settings={"plan_cache_mode": "force_generic_plan", "jit": "off"},
    )
    remaining = [total]
    done = [0]

    async def client(n: int) -> None:
        rng = random.Random(n)  # noqa: S311 - load shape, not secrets
        while remaining[0] > 0:
            remaining[0] -= 1
            user, chat = rng.choice(users)
            now = datetime.now(UTC)
            windows = window_params([now])
            try:
                async with pool.acquire() as conn:
                    row = await conn.fetchrow(
                        "SELECT * FROM spendlimits_reserve($1, NULL, NULL, $2, NULL, NULL, NULL, $3, $4, $5, $6, $7, 1000)",
                        user,
                        ESTIMATE,
                        now,
                        windows["window_periods"],
                        windows["window_first_days"],
                        windows["window_end_days"],
                        now + timedelta(seconds=1),
                    )
            except (asyncpg.QueryCanceledError, asyncpg.LockNotAvailableError):
                # Past the same 1 s budget the service has (a loaded machine; lock_timeout is the
                # budget): no hold, none counted.
                continue
            if row is None or row["outcome"] != "admitted":
                continue
            # What settleChatSpend sends: one call in autocommit, the message keyed by the reservation.
            async with pool.acquire() as conn:
                settled = await conn.fetchrow(
                    "SELECT * FROM spendlimits_settle($1, $2, 'assistant', NULL, NULL, NULL, NULL, NULL,"
                    " $3, NULL, $4, $5, $6)",
                    row["reservation_id"],
                    chat,
                    ESTIMATE,
                    f"reservation:{row['reservation_id']}",
                    DIGEST,
                    datetime.now(UTC),
                )
            if settled is not None and settled["outcome"] == "settled":
                done[0] += 1

    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    elapsed = time.perf_counter() - started
    await pool.close()
    return done[0] / elapsed


#: Concurrent writers of one user (the issue's figure); --writers changes it.
WRITERS = 16


async def writers(url: str, chat: uuid.UUID, count: int, rollup: bool, sessions: int = WRITERS) -> float:
    """Messages/s from ``sessions`` concurrent sessions inserting one message per statement for one user."""
    admin = await asyncpg.connect(url)
    action = "ENABLE" if rollup else "DISABLE"
    for trigger in ("chat_messages_rollup_insert",):
        await admin.execute(f"ALTER TABLE chat_messages {action} TRIGGER {trigger}")
    conns = [await asyncpg.connect(url) for _ in range(sessions)]

    async def writer(conn: asyncpg.Connection) -> None:
        for _ in range(count):
            await conn.execute(
                "INSERT INTO chat_messages (chat_id, role, total_cost_micros) VALUES ($1, 'assistant', 7)",
                chat,
            )

    started = time.perf_counter()
    await asyncio.gather(*(writer(c) for c in conns))
    elapsed = time.perf_counter() - started
    for conn in conns:
        await conn.close()
    await admin.execute("ALTER TABLE chat_messages ENABLE TRIGGER chat_messages_rollup_insert")
    await admin.close()
    return sessions * count / elapsed


#: The rollup trigger functions --rollup-only compares, in turn, each installed before its turn.
ROLLUPS = (
    ("rollup of 000003 (daily only)", harness.ROLLUP_BEFORE_TOTALS),
    ("rollup of 000008 (daily + period totals)", harness.ROLLUP_WITH_TOTALS),
    ("rollup of 000011 (one-row path, a free slot; current)", harness.ROLLUP_ONE_ROW_PATH),
)


async def rollup_before_and_after(
    url: str, chat: uuid.UUID, count: int, rounds: int, sessions: int = WRITERS
) -> None:
    """The 16 writers with each rollup trigger function of ROLLUPS, against plain inserts, taking
    turns; medians of ``rounds``, and the median of each round's ratio to its own plain run (the
    figure a machine whose load drifts between rounds blurs least)."""
    plain: list[float] = []
    rolled: dict[str, list[float]] = {label: [] for label, _ in ROLLUPS}
    for _ in range(rounds):
        plain.append(await writers(url, chat, count, rollup=False, sessions=sessions))
        for label, migration in ROLLUPS:
            await harness.use_rollup_trigger(url, migration)
            rolled[label].append(await writers(url, chat, count, rollup=True, sessions=sessions))
    p = statistics.median(plain)
    rows = [["plain inserts (trigger off)", f"{p:.0f}", "1.00", "1.00"]]
    for label, rates in rolled.items():
        paired = statistics.median(r / q for r, q in zip(rates, plain, strict=True))
        rows.append(
            [label, f"{statistics.median(rates):.0f}", f"{statistics.median(rates) / p:.2f}", f"{paired:.2f}"]
        )
    harness.print_table(
        [f"{sessions} writers of one user", "msg/s (median)", "of plain", "of plain, per round"], rows
    )


#: --forms, scratch database only: the guard column the CTE sets; a row trigger guarded by it (it
#: raises, so a CTE row that queued an event would fail the run); a statement trigger that only
#: looks for rows the statement did not roll up (the other way to keep other writers exact);
#: 000011's function with 4096 slots (the slot CHECKs dropped), where no two writers share a row.
FORMS_SETUP = """
ALTER TABLE chat_messages ADD COLUMN rolled_up boolean NOT NULL DEFAULT false;
CREATE FUNCTION bench_guard_fired() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE 'a rolled-up row queued a rollup event'; END $$;
CREATE TRIGGER bench_guarded_row AFTER INSERT ON chat_messages FOR EACH ROW
    WHEN (NOT NEW.rolled_up AND NEW.total_cost_micros IS NOT NULL) EXECUTE FUNCTION bench_guard_fired();
CREATE FUNCTION bench_filtering() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM new_rows WHERE NOT rolled_up) THEN
        RETURN NULL;
    END IF;
    RAISE 'rows to roll up';
END $$;
CREATE TRIGGER bench_filtering_statement AFTER INSERT ON chat_messages REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION bench_filtering();
ALTER TABLE chat_spend_daily DROP CONSTRAINT chat_spend_daily_slot_check;
CREATE TABLE bench_spend_journal (user_id uuid NOT NULL, day date NOT NULL, organization_id uuid NOT NULL,
                                  spend_micros bigint NOT NULL);
"""

#: The one-message INSERT with the rollup in the same statement: the slot chosen as 000011's
#: one-row path does (the first from the backend's own whose (user, slot) lock is free, tried only),
#: the daily row, then the day, week and month rows in key order.
_FORM_HEAD = """
WITH inserted AS (
    INSERT INTO chat_messages (chat_id, role, total_cost_micros, rolled_up)
    VALUES ($1, 'assistant', 7, true)
    RETURNING chat_id, created_at, total_cost_micros
), added AS (
    SELECT c.owner_id AS user_id, (i.created_at AT TIME ZONE 'UTC')::date AS day, c.organization_id,
           i.total_cost_micros AS delta
    FROM inserted i JOIN chats c ON c.id = i.chat_id
    WHERE i.total_cost_micros IS NOT NULL
), slotted AS (
    SELECT a.*, coalesce(
        (SELECT (pg_backend_pid() + i) % 8 FROM generate_series(0, 7) i
         WHERE pg_try_advisory_xact_lock(1397772883, hashtext(a.user_id::text) # ((pg_backend_pid() + i) % 8))
         LIMIT 1),
        pg_backend_pid() % 8)::smallint AS slot
    FROM added a
)"""
_FORM_DAILY = """
    INSERT INTO chat_spend_daily AS d (user_id, day, organization_id, slot, spend_micros)
    SELECT user_id, day, organization_id, slot, delta FROM slotted
    ON CONFLICT (user_id, day, organization_id, slot)
    DO UPDATE SET spend_micros = d.spend_micros + EXCLUDED.spend_micros"""
FORM_DAILY_AND_TOTALS = (
    _FORM_HEAD
    + ", daily AS ("
    + _FORM_DAILY
    + """
    RETURNING 1
)
INSERT INTO chat_spend_period_totals AS t (user_id, period, period_start, slot, spend_micros)
SELECT s.user_id, p.period, p.period_start, s.slot, s.delta
FROM slotted s CROSS JOIN LATERAL (VALUES
    ('day', s.day),
    ('week', date_trunc('week', s.day::timestamp)::date),
    ('month', date_trunc('month', s.day::timestamp)::date)) AS p(period, period_start)
WHERE (SELECT count(*) FROM daily) >= 0
ORDER BY 2, 3
ON CONFLICT (user_id, period, period_start, slot)
DO UPDATE SET spend_micros = t.spend_micros + EXCLUDED.spend_micros"""
)
FORM_DAILY_ONLY = _FORM_HEAD + _FORM_DAILY
#: The floor of taking the rollup out of the writer's transaction: one appended row per message (no
#: key, no conflict, no row shared with another writer), which a later fold would add to the rollup.
FORM_JOURNAL = (
    _FORM_HEAD
    + """
INSERT INTO bench_spend_journal (user_id, day, organization_id, spend_micros)
SELECT user_id, day, organization_id, delta FROM slotted"""
)
PLAIN_INSERT = "INSERT INTO chat_messages (chat_id, role, total_cost_micros) VALUES ($1, 'assistant', 7)"
_FORM_TRIGGERS = (
    "chat_messages_rollup_insert",
    "bench_guarded_row",
    "bench_filtering_statement",
    "bench_wide",
)
#: label -> (the writers' statement, the insert triggers enabled, a user per writer). The last case
#: is the current trigger with the same writers spread over as many users (one chat each): what the
#: rollup costs when no two writers share a user, so the difference to (b) is what one user's
#: writers still lose to each other.
FORMS: dict[str, tuple[str, tuple[str, ...], bool]] = {
    "(a) plain inserts (trigger off)": (PLAIN_INSERT, (), False),
    "(b) 000011's trigger (current)": (PLAIN_INSERT, ("chat_messages_rollup_insert",), False),
    "(c) CTE: daily + period totals, no trigger event": (
        FORM_DAILY_AND_TOTALS,
        ("bench_guarded_row",),
        False,
    ),
    "(d) CTE: daily only, no trigger event": (FORM_DAILY_ONLY, ("bench_guarded_row",), False),
    "(e) CTE + a statement trigger that filters": (
        FORM_DAILY_AND_TOTALS,
        ("bench_guarded_row", "bench_filtering_statement"),
        False,
    ),
    "(f) CTE, 4096 slots (no shared rows)": (
        FORM_DAILY_AND_TOTALS.replace("% 8", "% 4096"),
        ("bench_guarded_row",),
        False,
    ),
    "(g) 000011's trigger, 4096 slots": (PLAIN_INSERT, ("bench_wide",), False),
    "(h) CTE appending a journal row (no upsert)": (FORM_JOURNAL, ("bench_guarded_row",), False),
    "(i) 000011's trigger, a user per writer": (PLAIN_INSERT, ("chat_messages_rollup_insert",), True),
}
_PROBED = ("chat_spend_daily_pkey", "chat_spend_period_totals_pkey")


async def _probes(url: str) -> dict[str, tuple[int, int]]:
    """(arbiter index scans, index entries they returned) of the rollup tables' primary keys, once
    every writer's backend has exited (a backend flushes its counters as it exits)."""
    conn = await asyncpg.connect(url)
    try:
        for _ in range(100):  # until every writer has exited (at most 5 s)
            if not await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'bench-rollup-writer'"
            ):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.1)
        rows = await conn.fetch(
            "SELECT indexrelname, idx_scan, idx_tup_read FROM pg_stat_user_indexes"
            " WHERE indexrelname = ANY($1::text[])",
            list(_PROBED),
        )
    finally:
        await conn.close()
    return {r["indexrelname"]: (r["idx_scan"], r["idx_tup_read"]) for r in rows}


async def form_writers(
    url: str, chats: list[uuid.UUID], count: int, sql: str, enabled: tuple[str, ...], sessions: int
) -> tuple[float, dict[str, tuple[int, int]]]:
    """Messages/s of ``sessions`` writers each sending ``sql`` ``count`` times in autocommit (writer
    i into ``chats[i % len(chats)]``), and the arbiter probes' (scans, entries read) per primary key
    during the run."""
    admin = await asyncpg.connect(url)
    try:
        for trigger in _FORM_TRIGGERS:
            action = "ENABLE" if trigger in enabled else "DISABLE"
            await admin.execute(f"ALTER TABLE chat_messages {action} TRIGGER {trigger}")
    finally:
        await admin.close()
    before = await _probes(url)
    conns = [
        await asyncpg.connect(url, server_settings={"application_name": "bench-rollup-writer"})
        for _ in range(sessions)
    ]

    async def writer(conn: asyncpg.Connection, chat: uuid.UUID) -> None:
        for _ in range(count):
            await conn.execute(sql, chat)

    started = time.perf_counter()
    await asyncio.gather(*(writer(c, chats[i % len(chats)]) for i, c in enumerate(conns)))
    elapsed = time.perf_counter() - started
    for conn in conns:
        await conn.close()
    after = await _probes(url)
    delta = {k: (after[k][0] - before[k][0], after[k][1] - before[k][1]) for k in _PROBED}
    return sessions * count / elapsed, delta


async def statement_forms(
    url: str, chat: uuid.UUID, spread: list[uuid.UUID], count: int, rounds: int, sessions: int
) -> None:
    """FORMS taking turns (each round starts one case later), medians of ``rounds``; the rollup is
    checked exact at the end (every case but plain inserts rolled up its messages once)."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(FORMS_SETUP)
        wide = (
            await conn.fetchval("SELECT pg_get_functiondef('chat_spend_daily_apply()'::regprocedure)")
        ).replace("chat_spend_daily_apply()", "bench_wide_apply()")
        await conn.execute(wide.replace("CONSTANT smallint := 8", "CONSTANT smallint := 4096"))
        await conn.execute(
            "CREATE TRIGGER bench_wide AFTER INSERT ON chat_messages REFERENCING NEW TABLE AS new_rows"
            " FOR EACH STATEMENT EXECUTE FUNCTION bench_wide_apply()"
        )
        for (name,) in await conn.fetch(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'chat_spend_period_totals'::regclass"
            " AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%slot%'"
        ):
            await conn.execute(f"ALTER TABLE chat_spend_period_totals DROP CONSTRAINT {name}")
    finally:
        await conn.close()
    labels = list(FORMS)
    rates: dict[str, list[float]] = {label: [] for label in labels}
    probes: dict[str, dict[str, list[int]]] = {label: {k: [0, 0] for k in _PROBED} for label in labels}
    for n in range(rounds):
        print(f"# round {n + 1}: load {os.getloadavg()[0]:.2f}", flush=True)
        for label in labels[n % len(labels) :] + labels[: n % len(labels)]:
            sql, enabled, per_user = FORMS[label]
            rate, delta = await form_writers(
                url, spread if per_user else [chat], count, sql, enabled, sessions
            )
            rates[label].append(rate)
            for key, (scans, read) in delta.items():
                probes[label][key][0] += scans
                probes[label][key][1] += read
    conn = await asyncpg.connect(url)
    try:
        sums = await conn.fetchrow(
            "SELECT (SELECT sum(total_cost_micros) FROM chat_messages),"
            " (SELECT sum(spend_micros) FROM chat_spend_daily),"
            " (SELECT sum(spend_micros) FROM chat_spend_period_totals WHERE period = 'month')"
        )
    finally:
        await conn.close()
    assert sums is not None
    messages, daily, months = sums
    per_case = sessions * count * rounds * 7
    # Plain inserts and the journal's are not rolled up; (d) leaves the period totals out.
    assert daily == messages - 2 * per_case, (daily, messages)
    assert months == messages - 3 * per_case, (months, messages)
    plain = rates[labels[0]]
    rows: list[list[str]] = []
    for label in labels:
        per_round = statistics.median(r / p for r, p in zip(rates[label], plain, strict=True))
        per_probe = [
            f"{probes[label][k][1] / probes[label][k][0]:.0f}" if probes[label][k][0] else "-"
            for k in _PROBED
        ]
        rows.append([label, f"{statistics.median(rates[label]):.0f}", f"{per_round:.2f}", *per_probe])
    harness.print_table(
        [
            f"{sessions} writers (of one user but (i))",
            "msg/s (median)",
            "of plain, per round",
            "entries read per daily probe",
            "per totals probe",
        ],
        rows,
    )
    print(f"# load at the end {os.getloadavg()[0]:.2f}")


async def leftover(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(
            await conn.fetchval(
                "SELECT coalesce(sum(amount_micros), 0) FROM chat_spend_reservations WHERE state = 'held'"
            )
        )
    finally:
        await conn.close()


async def set_mode(url: str, mode: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "UPDATE chat_usage_limit_config SET enforcement_mode = $1, default_limit_micros = $2",
            mode,
            10**15,
        )
        await conn.execute("UPDATE users SET chat_spend_limit_micros = NULL")
        await conn.execute("UPDATE groups SET chat_spend_limit_micros = NULL")
    finally:
        await conn.close()


async def main() -> None:
    parser = harness.base_arguments(__doc__ or "")
    parser.add_argument("--processes", type=int, nargs="+", help="server processes (default: 1 2; quick: 2)")
    parser.add_argument("--modes", nargs="+", choices=("fail_open", "fail_closed"), help="enforcement modes")
    parser.add_argument(
        "--pairs", type=int, help="check/cycle pairs from one client (default 300; quick: 100)"
    )
    parser.add_argument(
        "--rollup-only",
        action="store_true",
        help="only the 16 writers of one user, with the rollup trigger functions of 000003, 000008 and 000011",
    )
    parser.add_argument(
        "--forms",
        action="store_true",
        help="with --rollup-only: the rollup in the INSERT statement (a CTE) against the trigger",
    )
    parser.add_argument(
        "--writers",
        type=int,
        default=WRITERS,
        help=f"writers of one user with --rollup-only (default {WRITERS})",
    )
    args = parser.parse_args()
    if args.forms and not args.rollup_only:
        parser.error("--forms compares the 16 writers' statements: it needs --rollup-only")
    pair_count = args.pairs or (100 if args.quick else 300)
    concurrencies = (1, 8, 64) if args.quick else (1, 8, 32, 64)
    per_client = 3 if args.quick else 10
    processes = args.processes or ((2,) if args.quick else (1, 2))
    modes = args.modes or (("fail_closed",) if args.quick else ("fail_open", "fail_closed"))
    # --rollup-only has a scratch database of its own: it can run beside a whole run.
    scratch = "spendlimits_bench_contention" + ("_rollup" if args.rollup_only else "")
    async with harness.scratch_database(args.database_url, scratch, args.keep) as url:
        await harness.machine_notes(url)
        seeded = await harness.seed_directory(url, 1000)
        pairs = list(zip(seeded.users, seeded.chats, strict=True))
        one = [pairs[1]]
        if args.rollup_only and args.forms:
            spread = [chat for _, chat in pairs[1 : 1 + args.writers]]
            await statement_forms(
                url, one[0][1], spread, 100 if args.quick else 300, 1 if args.quick else 7, args.writers
            )
            return
        if args.rollup_only:
            await rollup_before_and_after(
                url, one[0][1], 100 if args.quick else 400, 1 if args.quick else 5, args.writers
            )
            return
        rows: list[list[Any]] = []
        alternating: list[str] = []
        for workers in processes:
            with harness.Server(url, workers=workers) as server:
                check_ms = await http_check_p50(server.port, seeded.chatd_token, one[0][0], 30)
                await set_mode(url, modes[0])
                check_p50, cycle_p50 = await paired(server.port, seeded.chatd_token, *one[0], pair_count)
                alternating.append(
                    f"{workers} process(es): check p50 {check_p50:.1f} ms, cycle p50 {cycle_p50:.1f} ms, "
                    f"cycle/check {cycle_p50 / check_p50:.2f}x"
                )
                for mode in modes:
                    await set_mode(url, mode)
                    for clients in concurrencies:
                        for label, users in (("one user", one), ("1,000 users", pairs)):
                            total = clients * per_client
                            rate, samples, fallbacks = await http_cycles(
                                server.port, seeded.chatd_token, users, clients, total
                            )
                            raw = await raw_cycles(url, users, clients, total)
                            rows.append(
                                [
                                    workers,
                                    mode,
                                    clients,
                                    label,
                                    f"{rate:.0f}",
                                    f"{raw:.0f}",
                                    harness.ratio(rate, raw),
                                    f"{pct(samples, 0.5):.1f}",
                                    f"{pct(samples, 0.99):.1f}",
                                    f"{pct(samples, 0.5) / check_ms:.1f}x",
                                    fallbacks,
                                    await leftover(url),
                                ]
                            )
        harness.print_table(
            [
                "procs",
                "mode",
                "clients",
                "users",
                "cycles/s",
                "raw/s",
                "ratio",
                "p50 ms",
                "p99 ms",
                "p50/check",
                "fallbacks",
                "held",
            ],
            rows,
        )
        print(f"\nOne client alternating a check and a cycle ({pair_count} pairs, one user, {modes[0]}):")
        for line in alternating:
            print(f"  {line}")
        count = 100 if args.quick else 400
        measured = []
        for _ in range(1 if args.quick else 3):
            plain = await writers(url, one[0][1], count, rollup=False)
            rolled = await writers(url, one[0][1], count, rollup=True)
            measured.append((rolled / plain, rolled, plain))
        share, rolled, plain = sorted(measured)[len(measured) // 2]
        print(
            f"\n16 writers of one user: {rolled:.0f} msg/s with the rollup, {plain:.0f} plain; ratio {share:.2f}"
        )


if __name__ == "__main__":
    # The raw baseline and the HTTP clients both run on uvloop, as the service does.
    uvloop.run(main())
