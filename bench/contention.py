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

Then the hot user: 16 concurrent writers record one-message INSERTs of ONE user (one chat, one
day) for a fixed count each, passing the chat's owner and organization as the service does, with
what keeps spend on the writers' side (migration 000014: the two indexes through which the folder
and the readers find the messages past the last fold, and the foreign key that checks the
attribution) and a folder calling ``spendlimits_fold_spend_journal()`` every 200 ms beside them,
as the server does, against the same INSERTs without them and with NULL attributions ("plain
inserts", no folder; the machinery is dropped and rebuilt off the clock). Goal: >= 0.85. The
folder's rows and time are printed: its cost is part of the price. ``--rollup-only`` runs only
this, in rounds taking turns (each round starts one case later), and adds the spend machinery with no
folder (the fold's share of the price) and the same writers with a user each (one chat each: no
two writers share a user) against plain inserts of those chats; the figure to read is the median of
each round's ratio to its own plain run. Both modes check at the end that the rollup (the views,
and the folded tables once everything is folded) equals the messages' spend.
"""

import asyncio
import contextlib
import json
import os
import random
import statistics
import time
import uuid
from dataclasses import dataclass, field
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
#: How often the server folds (SPENDLIMITS_FOLD_INTERVAL_MS's default, 200 ms): the writers' runs
#: with the spend machinery fold at the same pace beside them, so the fold's cost is in their price.
FOLD_INTERVAL_S = 0.2
#: A writer's INSERT as the service sends it: the message with its chat's attribution (owner and
#: organization, migration 000014), NULL for plain inserts (the columns as if they were not there).
WRITER_INSERT = (
    "INSERT INTO chat_messages (chat_id, role, total_cost_micros, owner_id, organization_id)"
    " VALUES ($1, 'assistant', 7, $2, $3)"
)


@dataclass
class Folds:
    """What the folder beside one or more writers' runs did."""

    #: Seconds of each fold that moved rows, and how many rows each moved.
    seconds: list[float] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    #: Folds that found nothing to fold.
    empty: int = 0
    #: Rows folded off the clock before the run (what plain runs before it wrote).
    before: int = 0
    #: Rows the fold after each run moved (what the server's next tick would have folded; with no
    #: folder beside the run, all of its rows), and its seconds.
    after: int = 0
    after_seconds: float = 0.0

    def add(self, other: "Folds") -> None:
        self.seconds += other.seconds
        self.rows += other.rows
        self.empty += other.empty
        self.after += other.after
        self.after_seconds += other.after_seconds

    def __str__(self) -> str:
        if not self.rows:
            return f"no fold during the runs; after them {self.after:,} rows in {self.after_seconds * 1000:.0f} ms"
        ms = sorted(s * 1000 for s in self.seconds)
        return (
            f"{len(self.rows)} folds moved {sum(self.rows):,} rows ({statistics.median(self.rows):.0f} per fold),"
            f" {statistics.median(ms):.1f} ms per fold (max {ms[-1]:.1f}); {self.after:,} left for the next"
        )


#: What a message write pays for the rollup since migration 000014, and what plain inserts run
#: without: the indexes through which the folder and the readers find the messages past the last
#: fold, and the foreign key that checks a message's attribution (owner, organization) against its
#: chat (the trigger that fills in an attribution left out does not fire: the writers pass it, as
#: the service does).
SPEND_INDEXES = ("chat_messages_unfolded_idx", "chat_messages_recorded_xid_idx")
ATTRIBUTION_KEY = "chat_messages_attribution_fkey"
ATTRIBUTION_TRIGGER = "chat_messages_attribution_insert"
#: Their definitions as migrated, read before the first plain run drops them.
_DEFINITIONS: dict[str, str] = {}


async def spend_machinery(admin: asyncpg.Connection, on: bool) -> None:
    """Builds (``on``) or drops the spend indexes and the attribution's key, off the clock; a no-op
    when they already are so. Plain runs leave their messages unattributed (and without the
    trigger that would attribute them); they are attributed before the machinery comes back, as
    the service would have written them, so that every message counts."""
    indexes = {
        row["indexname"]: row["indexdef"]
        for row in await admin.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE indexname = ANY($1::text[])",
            list(SPEND_INDEXES),
        )
    }
    key = await admin.fetchval(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = $1", ATTRIBUTION_KEY
    )
    _DEFINITIONS.update(indexes)
    if key is not None:
        _DEFINITIONS[ATTRIBUTION_KEY] = key
    if on:
        await admin.execute(
            "UPDATE chat_messages m SET owner_id = c.owner_id, organization_id = c.organization_id"
            " FROM chats c WHERE c.id = m.chat_id AND m.owner_id IS NULL AND m.recorded_xid <> '0'"
        )
        for name in SPEND_INDEXES:
            if name not in indexes:
                await admin.execute(_DEFINITIONS[name])
        if key is None:
            await admin.execute(
                f"ALTER TABLE chat_messages ADD CONSTRAINT {ATTRIBUTION_KEY} {_DEFINITIONS[ATTRIBUTION_KEY]}"
            )
        await admin.execute(f"ALTER TABLE chat_messages ENABLE TRIGGER {ATTRIBUTION_TRIGGER}")
        if len(indexes) < len(SPEND_INDEXES):
            await admin.execute("ANALYZE chat_messages")
    else:
        for name in SPEND_INDEXES:
            if name in indexes:
                await admin.execute(f"DROP INDEX {name}")
        if key is not None:
            await admin.execute(f"ALTER TABLE chat_messages DROP CONSTRAINT {ATTRIBUTION_KEY}")
        await admin.execute(f"ALTER TABLE chat_messages DISABLE TRIGGER {ATTRIBUTION_TRIGGER}")


async def fold_once(conn: asyncpg.Connection) -> int:
    """One fold (the server's statement, a transaction of its own); the rows it moved."""
    moved = await conn.fetchval("SELECT spendlimits_fold_spend_journal()")
    # NULL: another session was folding. Nothing else folds the scratch database, so a NULL is a bug.
    assert moved is not None, "another session is folding the scratch database's journal"
    return int(moved)


async def folder(conn: asyncpg.Connection, stop: asyncio.Event, folds: Folds) -> None:
    """Folds until ``stop``, waiting FOLD_INTERVAL_S after each fold as the server's folder does."""
    while not stop.is_set():
        started = time.perf_counter()
        moved = await fold_once(conn)
        if moved:
            folds.seconds.append(time.perf_counter() - started)
            folds.rows.append(moved)
        else:
            folds.empty += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), FOLD_INTERVAL_S)


async def writers(
    url: str,
    chats: list[uuid.UUID],
    count: int,
    journal: bool,
    sessions: int = WRITERS,
    fold: bool = True,
) -> tuple[float, Folds]:
    """Messages/s from ``sessions`` concurrent sessions inserting one message per statement in
    autocommit, writer i into ``chats[i % len(chats)]``: with the spend machinery and (with
    ``fold``) a folder beside them (``journal``), or without it (plain inserts, no folder). Such a
    run's messages are all folded when it returns."""
    admin = await asyncpg.connect(url)
    folds = Folds()
    try:
        await spend_machinery(admin, journal)
        if journal:
            # What plain runs wrote is folded off the clock, as a server would have folded it.
            folds.before = await fold_once(admin)
        attribution = {
            row["id"]: (row["owner_id"], row["organization_id"]) if journal else (None, None)
            for row in await admin.fetch(
                "SELECT id, owner_id, organization_id FROM chats WHERE id = ANY($1::uuid[])", chats
            )
        }
        conns = [await asyncpg.connect(url) for _ in range(sessions)]

        async def writer(conn: asyncpg.Connection, chat: uuid.UUID) -> None:
            owner, organization = attribution[chat]
            for _ in range(count):
                await conn.execute(WRITER_INSERT, chat, owner, organization)

        stop = asyncio.Event()
        # The folder's connection is the admin one, opened before the clock starts.
        folding = asyncio.create_task(folder(admin, stop, folds)) if journal and fold else None
        started = time.perf_counter()
        await asyncio.gather(*(writer(c, chats[i % len(chats)]) for i, c in enumerate(conns)))
        elapsed = time.perf_counter() - started
        stop.set()
        if folding is not None:
            await folding
        if journal:
            # What the writers' last interval left (or all they wrote, with no folder): folded now,
            # outside the clock (the server's next tick), so every run starts from an empty journal.
            started = time.perf_counter()
            folds.after = await fold_once(admin)
            folds.after_seconds = time.perf_counter() - started
        for conn in conns:
            await conn.close()
    finally:
        await spend_machinery(admin, True)
        await admin.close()
    return sessions * count / elapsed, folds


async def check_rollup(url: str) -> None:
    """The rollup equals the messages' spend, through the views and in the folded tables alone once
    everything is folded (the plain runs' messages too: they carry their transaction ids all the
    same)."""
    conn = await asyncpg.connect(url)
    try:
        await fold_once(conn)
        sums = await conn.fetchrow(
            "SELECT (SELECT coalesce(sum(total_cost_micros), 0) FROM chat_messages),"
            " (SELECT coalesce(sum(spend_micros), 0) FROM chat_spend_daily),"
            " (SELECT coalesce(sum(spend_micros), 0) FROM chat_spend_daily_folded),"
            " (SELECT coalesce(sum(spend_micros), 0) FROM chat_spend_period_totals_folded"
            "  WHERE period = 'month'),"
            " (SELECT count(*) FROM chat_spend_unfolded)"
        )
    finally:
        await conn.close()
    assert sums is not None
    messages, daily, folded, months, unfolded = sums
    assert (daily, folded, months, unfolded) == (messages, messages, messages, 0), (
        f"rollup not exact: messages {messages}; daily view {daily}, folded {folded},"
        f" month totals {months}, unfolded rows {unfolded}"
    )


#: --rollup-only's cases: label -> (the spend machinery on, a folder beside the writers, a user per
#: writer). The journal without a folder says what the fold's share of the price is.
CASES: dict[str, tuple[bool, bool, bool]] = {
    "plain inserts (no spend machinery), one user": (False, False, False),
    "spend machinery + folder, one user": (True, True, False),
    "spend machinery, no folder, one user": (True, False, False),
    "plain inserts, a user per writer": (False, False, True),
    "spend machinery + folder, a user per writer": (True, True, True),
}
#: case -> the plain case its per-round ratio is taken against (the same chats).
BASELINE = {
    "spend machinery + folder, one user": "plain inserts (no spend machinery), one user",
    "spend machinery, no folder, one user": "plain inserts (no spend machinery), one user",
    "plain inserts, a user per writer": "plain inserts (no spend machinery), one user",
    "spend machinery + folder, a user per writer": "plain inserts, a user per writer",
}


async def journal_against_plain(
    url: str, chat: uuid.UUID, spread: list[uuid.UUID], count: int, rounds: int, sessions: int = WRITERS
) -> None:
    """CASES taking turns (each round starts one case later), ``count`` messages per writer; medians
    of ``rounds``, and the median of each round's ratio to its own plain run of the same chats (the
    figure a machine whose load drifts between rounds blurs least). The rollup is checked exact at
    the end."""
    labels = list(CASES)
    # Untimed: connections, plans and PL/pgSQL's caches of each case once, a quarter of the count.
    for label in labels:
        journal, fold, per_user = CASES[label]
        await writers(url, spread if per_user else [chat], max(count // 4, 1), journal, sessions, fold)
    print("# per round, msg/s (of its plain run): " + "; ".join(labels), flush=True)
    rates: dict[str, list[float]] = {label: [] for label in labels}
    folds: dict[str, Folds] = {label: Folds() for label in labels}
    for n in range(rounds):
        load = os.getloadavg()[0]
        for label in labels[n % len(labels) :] + labels[: n % len(labels)]:
            journal, fold, per_user = CASES[label]
            rate, folded = await writers(url, spread if per_user else [chat], count, journal, sessions, fold)
            rates[label].append(rate)
            folds[label].add(folded)
        figures = ", ".join(
            f"{rates[label][-1]:.0f}"
            + (f" ({rates[label][-1] / rates[BASELINE[label]][-1]:.2f})" if label in BASELINE else "")
            for label in labels
        )
        print(f"# round {n + 1} (load {load:.2f} -> {os.getloadavg()[0]:.2f}): {figures}", flush=True)
    await check_rollup(url)
    rows: list[list[str]] = []
    for label in labels:
        base = BASELINE.get(label)
        per_round = (
            statistics.median(r / p for r, p in zip(rates[label], rates[base], strict=True)) if base else 1.0
        )
        journal = CASES[label][0]
        rows.append(
            [
                label,
                f"{statistics.median(rates[label]):.0f}",
                f"{per_round:.2f}",
                base or "-",
                str(folds[label]) if journal else "-",
            ]
        )
    harness.print_table(
        [f"{sessions} writers, {count} messages each", "msg/s (median)", "per round", "of", "folder"], rows
    )
    print(f"# {rounds} rounds; rollup exact; load at the end {os.getloadavg()[0]:.2f}")


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
        help="only the 16 writers: plain inserts against the spend machinery with a folder, one user and a user per writer",
    )
    parser.add_argument(
        "--writers",
        type=int,
        default=WRITERS,
        help=f"writers with --rollup-only (default {WRITERS})",
    )
    parser.add_argument(
        "--rounds", type=int, help="rounds of the 16 writers (default: 7 with --rollup-only, else 3; quick 1)"
    )
    args = parser.parse_args()
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
        if args.rollup_only:
            spread = [chat for _, chat in pairs[1 : 1 + args.writers]]
            await journal_against_plain(
                url,
                one[0][1],
                spread,
                100 if args.quick else 1000,
                args.rounds or (1 if args.quick else 7),
                args.writers,
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
        folds = Folds()
        for _ in range(args.rounds or (1 if args.quick else 3)):
            plain, _ = await writers(url, [one[0][1]], count, journal=False)
            journaled, fold = await writers(url, [one[0][1]], count, journal=True)
            folds.add(fold)
            measured.append((journaled / plain, journaled, plain))
        await check_rollup(url)
        share, journaled, plain = sorted(measured)[len(measured) // 2]
        print(
            f"\n{WRITERS} writers of one user: {journaled:.0f} msg/s with the spend machinery and a folder every"
            f" {FOLD_INTERVAL_S * 1000:.0f} ms, {plain:.0f} plain; ratio {share:.2f} (median of {len(measured)})."
            f"\nThe folder: {folds}; rollup exact."
        )


if __name__ == "__main__":
    # The raw baseline and the HTTP clients both run on uvloop, as the service does.
    uvloop.run(main())
