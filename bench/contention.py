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
writer of the user holds), taking turns.
"""

import asyncio
import contextlib
import json
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
        "--writers",
        type=int,
        default=WRITERS,
        help=f"writers of one user with --rollup-only (default {WRITERS})",
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
