"""Benchmark: the live status subscription on one `spendlimits serve` process.

    .venv/bin/python bench/live_status.py [--quick] [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

Creates a scratch database (``spendlimits_bench_live``), seeds 1,000 users (harness.seed_directory)
with a token each, starts one server process and opens 1,000 graphql-transport-ws connections from
this process, each subscribed to ``myChatUsageLimitStatus`` of its own user. Then:

1. Memory: the server's RSS before the connections and after all 1,000 got their first status;
   the difference per subscriber.
2. Idle CPU: the server's and PostgreSQL's CPU over a quiet window, with the 1,000 subscribers and
   (measured first) with none.
3. Latency: 100 messages/s for a while, each for the next user round-robin (a user's next message
   comes 10 s later, so coalescing does not hold any back), INSERTed by a separate connection as
   the daemon's recordChatMessage would commit them; the time from before the INSERT to the event
   with the new spend at the subscriber, p50/p99. Every message must produce its event.
4. Trigger cost: recordChatMessage and reserveChatSpend over HTTP at concurrency 8 (the daemon's
   token, round-robin over the users), after every subscriber left, in three modes alternating in
   rounds on the same server: the live triggers of migration 000006 on chat_messages and
   chat_spend_reservations disabled; enabled with nobody watched (no NOTIFY is sent); enabled with
   every user watched (live_watches rows for all of them under a stand-in listener connection, so
   every write NOTIFYs as it would for users with subscribers). And the bare INSERTs at
   concurrency 8 over asyncpg, the same way (the database's own ceiling).

The client shares the machine's cores with the server and PostgreSQL.
"""

import asyncio
import json
import statistics
import time
import uuid
from typing import Any

import asyncpg
import harness
from websockets.asyncio.client import ClientConnection, connect

from spendlimits.auth.tokens import hash_secret, new_secret

SUBSCRIBE = json.dumps(
    {
        "id": "1",
        "type": "subscribe",
        "payload": {"query": "subscription { myChatUsageLimitStatus { currentSpendMicros } }"},
    }
)
LIVE_TRIGGERS = {
    "chat_messages": ["chat_messages_live_insert"],
    "chat_spend_reservations": ["chat_spend_reservations_live_insert"],
}


class Subscriber:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.first = asyncio.Event()
        #: (receive time, currentSpendMicros) of each event after the first.
        self.events: list[tuple[float, int]] = []
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.ws:
            message = json.loads(raw)
            if message["type"] == "ping":
                await self.ws.send('{"type":"pong"}')
            elif message["type"] == "next":
                spend = message["payload"]["data"]["myChatUsageLimitStatus"]["currentSpendMicros"]
                if self.first.is_set():
                    self.events.append((time.perf_counter(), spend))
                self.first.set()


async def open_subscriber(url: str, token: str) -> Subscriber:
    # websockets types subprotocols as its Subprotocol NewType; a plain str is what it sends.
    ws = await connect(url, subprotocols=["graphql-transport-ws"], open_timeout=30, max_queue=None)  # type: ignore[list-item]  # see above
    await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
    assert json.loads(await ws.recv())["type"] == "connection_ack"
    await ws.send(SUBSCRIBE)
    return Subscriber(ws)


async def user_tokens(url: str, users: list[uuid.UUID]) -> list[str]:
    secrets = [new_secret() for _ in users]
    conn = await asyncpg.connect(url)
    try:
        await conn.executemany(
            "INSERT INTO api_tokens (name, user_id, secret_hash) VALUES ('bench-live', $1, $2)",
            [(user, hash_secret(secret)) for user, secret in zip(users, secrets, strict=True)],
        )
    finally:
        await conn.close()
    return secrets


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


async def idle_cpu(url: str, server_pid: int, seconds: float) -> tuple[float, float]:
    """Percent of one core used by the server and by PostgreSQL's backends over ``seconds``."""
    backends = await harness.backend_pids(url)
    server0, pg0 = harness.cpu_seconds([server_pid]), harness.cpu_seconds(backends)
    await asyncio.sleep(seconds)
    server = harness.cpu_delta(server0, harness.cpu_seconds([server_pid]))
    pg = harness.cpu_delta(pg0, harness.cpu_seconds(backends))
    return server / seconds * 100, pg / seconds * 100


async def latency(
    url: str, seeded: harness.Seeded, subscribers: list[Subscriber], seconds: float
) -> list[float]:
    conn = await asyncpg.connect(url)
    sent: list[tuple[int, float, int]] = []
    spend = [0] * len(subscribers)
    try:
        insert = await conn.prepare(
            "INSERT INTO chat_messages (chat_id, role, total_cost_micros) VALUES ($1, 'assistant', $2)"
        )
        count = int(seconds * 100)
        started = time.perf_counter()
        for i in range(count):
            await asyncio.sleep(max(0.0, started + i / 100 - time.perf_counter()))
            user = i % len(subscribers)
            cost = 1 + i
            spend[user] += cost
            sent.append((user, time.perf_counter(), spend[user]))
            await insert.fetch(seeded.chats[user], cost)
    finally:
        await conn.close()
    await asyncio.sleep(2)
    found = []
    missing = 0
    for user, at, expected in sent:
        events = [t for t, s in subscribers[user].events if s == expected]
        if events:
            found.append(events[0] - at)
        else:
            missing += 1
    if missing:
        print(f"!! {missing} of {len(sent)} messages produced no event")
    return found


RECORD = "mutation($i: RecordChatMessageInput!) { recordChatMessage(input: $i) { errors { code } } }"
RESERVE = "mutation($i: ReserveChatSpendInput!) { reserveChatSpend(input: $i) { reservation { id } errors { code } } }"


#: Trigger cost modes: (label, triggers enabled, every user watched).
MODES = (("triggers off", False, False), ("on, nobody watched", True, False), ("on, all watched", True, True))


class Watcher:
    """A connection standing in for a server's listener: live_watches rows carry its pid (its
    application name keeps the server's pruning off them)."""

    def __init__(self, url: str, users: list[uuid.UUID]) -> None:
        self.url = url
        self.users = users

    async def __aenter__(self) -> "Watcher":
        self.conn = await asyncpg.connect(self.url, server_settings={"application_name": "spendlimits-live"})
        # Someone consumes the notifications, as the server's listener would (it stops before the
        # bare INSERTs are measured).
        await self.conn.execute("LISTEN spendlimits_live_status")
        # The subscribers of the first parts have left: the server removes its rows as they go.
        for _ in range(100):
            if not await self.conn.fetchval("SELECT count(*) FROM live_watches"):
                break
            await asyncio.sleep(0.1)
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.set_mode(True, False)
        await self.conn.close()

    async def set_mode(self, enabled: bool, watched: bool) -> None:
        verb = "ENABLE" if enabled else "DISABLE"
        for table, triggers in LIVE_TRIGGERS.items():
            for trigger in triggers:
                await self.conn.execute(f"ALTER TABLE {table} {verb} TRIGGER {trigger}")
        await self.conn.execute("DELETE FROM live_watches WHERE listener_pid = pg_backend_pid()")
        if watched:
            await self.conn.execute(
                "INSERT INTO live_watches (user_id, listener_pid) SELECT unnest($1::uuid[]), pg_backend_pid()",
                self.users,
            )


def mode_rows(name: str, by_mode: dict[str, Any], show: Any, rate: Any) -> tuple[str, ...]:
    """One table row: each mode's figure, then the rates of the two 'on' modes over 'off'."""
    off = rate(by_mode[MODES[0][0]])
    cells = [show(by_mode[label]) for label, _, _ in MODES]
    ratios = [harness.ratio(rate(by_mode[label]), off) for label, _, _ in MODES[1:]]
    return (name, *cells, *ratios)


async def trigger_cost(url: str, port: int, seeded: harness.Seeded, rounds: int, seconds: float) -> None:
    """recordChatMessage and reserveChatSpend over HTTP at concurrency 8, the live triggers on and
    off in alternating rounds on the same server."""

    def body(query: str, variables: dict[str, Any]) -> bytes:
        return harness.graphql_request(
            port, seeded.chatd_token, json.dumps({"query": query, "variables": variables}).encode()
        )

    calls = {
        "recordChatMessage": [
            body(RECORD, {"i": {"chatId": str(chat), "role": "ASSISTANT", "totalCostMicros": 1}})
            for chat in seeded.chats
        ],
        "reserveChatSpend": [
            body(RESERVE, {"i": {"userId": str(user), "estimateMicros": 1, "ttlSeconds": 60}})
            for user in seeded.users
        ],
    }
    results: dict[tuple[str, str], list[harness.Run]] = {}
    async with Watcher(url, seeded.users) as watcher:
        for _ in range(rounds):
            for label, enabled, watched in MODES:
                await watcher.set_mode(enabled, watched)
                for name, requests in calls.items():
                    run = await harness.http_load(port, 8, seconds, requests, b'"errors":[]')
                    results.setdefault((name, label), []).append(run)
    rows = []
    for name in calls:
        median = {
            label: sorted(results[(name, label)], key=lambda r: r.rate)[rounds // 2] for label, _, _ in MODES
        }
        rows.append(
            mode_rows(
                name,
                median,
                lambda r: f"{r.rate:,.0f} / {r.p50:.1f} / {r.p99:.1f}",
                lambda r: r.rate,
            )
        )
    harness.print_table(
        (
            "HTTP, concurrency 8 (req/s / p50 ms / p99 ms)",
            *(label for label, _, _ in MODES),
            "ratio, nobody watched",
            "ratio, all watched",
        ),
        rows,
    )


async def statement_cost(url: str, seeded: harness.Seeded, rounds: int, seconds: float) -> None:
    """The same writes as bare single-row INSERTs at concurrency 8 (no HTTP): what the database
    itself can take with and without the triggers."""
    pool = await asyncpg.create_pool(url, min_size=8, max_size=8)
    statements = {
        "chat_messages INSERT": (
            "INSERT INTO chat_messages (chat_id, role, total_cost_micros) VALUES ($1, 'assistant', 1)",
            seeded.chats,
        ),
        "chat_spend_reservations INSERT": (
            "INSERT INTO chat_spend_reservations (user_id, amount_micros, expires_at, state, ended_at) "
            "VALUES ($1, 1, now() + interval '1 minute', 'released', now())",
            seeded.users,
        ),
    }
    rates: dict[tuple[str, str], list[float]] = {}
    try:
        async with Watcher(url, seeded.users) as watcher:
            for _ in range(rounds):
                for label, enabled, watched in MODES:
                    await watcher.set_mode(enabled, watched)
                    for name, (sql, ids) in statements.items():
                        done = 0
                        deadline = time.perf_counter() + seconds

                        async def worker(
                            index: int, sql: str = sql, ids: list[uuid.UUID] = ids, deadline: float = deadline
                        ) -> None:
                            nonlocal done
                            n = index
                            async with pool.acquire() as conn:
                                while time.perf_counter() < deadline:
                                    await conn.execute(sql, ids[n % len(ids)])
                                    n += 8
                                    done += 1

                        await asyncio.gather(*(worker(i) for i in range(8)))
                        rates.setdefault((name, label), []).append(done / seconds)
    finally:
        await pool.close()
    rows = []
    for name in statements:
        median = {label: statistics.median(rates[(name, label)]) for label, _, _ in MODES}
        rows.append(mode_rows(name, median, lambda r: f"{r:,.0f}", lambda r: r))
    harness.print_table(
        (
            "SQL, concurrency 8 (statements/s)",
            *(label for label, _, _ in MODES),
            "ratio, nobody watched",
            "ratio, all watched",
        ),
        rows,
    )


async def main() -> None:
    parser = harness.base_arguments(__doc__.splitlines()[0])
    args = parser.parse_args()
    subscribers_wanted = 1000
    quiet = 5.0 if args.quick else 15.0
    load_seconds = 5.0 if args.quick else 20.0
    async with harness.scratch_database(args.database_url, "spendlimits_bench_live", args.keep) as url:
        await harness.machine_notes(url)
        seeded = await harness.seed_directory(url, subscribers_wanted)
        tokens = await user_tokens(url, seeded.users)
        with harness.Server(url, env={"SPENDLIMITS_LOG_LEVEL": "WARNING"}) as server:
            assert server.process is not None
            pid = server.process.pid
            await asyncio.sleep(1)
            rss_before = rss_bytes(pid)
            idle_none = await idle_cpu(url, pid, quiet)
            ws_url = f"ws://127.0.0.1:{server.port}/graphql"
            started = time.perf_counter()
            subscribers = []
            for start in range(0, subscribers_wanted, 50):
                subscribers += await asyncio.gather(
                    *(open_subscriber(ws_url, token) for token in tokens[start : start + 50])
                )
            await asyncio.wait_for(asyncio.gather(*(s.first.wait() for s in subscribers)), 60)
            opened = time.perf_counter() - started
            await asyncio.sleep(1)
            rss_after = rss_bytes(pid)
            idle_full = await idle_cpu(url, pid, quiet)
            print(f"\n{len(subscribers)} subscribers opened and given their first status in {opened:.1f} s")
            harness.print_table(
                ("", "no subscribers", f"{len(subscribers)} subscribers"),
                [
                    ("server RSS", f"{rss_before / 2**20:.1f} MiB", f"{rss_after / 2**20:.1f} MiB"),
                    (
                        "memory per subscriber",
                        "",
                        f"{(rss_after - rss_before) / len(subscribers) / 1024:.1f} KiB",
                    ),
                    (
                        f"idle CPU, server (% of a core, {quiet:.0f} s)",
                        f"{idle_none[0]:.2f}",
                        f"{idle_full[0]:.2f}",
                    ),
                    ("idle CPU, PostgreSQL (% of a core)", f"{idle_none[1]:.2f}", f"{idle_full[1]:.2f}"),
                ],
            )
            found = await latency(url, seeded, subscribers, load_seconds)
            found_ms = sorted(x * 1000 for x in found)
            p99 = statistics.quantiles(found_ms, n=100)[98] if len(found_ms) > 1 else float("nan")
            print(
                f"\nmessage -> event at 100 messages/s for {load_seconds:.0f} s over {len(subscribers)} users:"
            )
            harness.print_table(
                ("events", "p50 ms", "p99 ms", "max ms"),
                [(len(found_ms), f"{statistics.median(found_ms):.1f}", f"{p99:.1f}", f"{found_ms[-1]:.1f}")],
            )
            for s in subscribers:
                s.task.cancel()
                await s.ws.close()
            print()
            await trigger_cost(url, server.port, seeded, rounds=3, seconds=2.0 if args.quick else 5.0)
        print()
        await statement_cost(url, seeded, rounds=3, seconds=1.0 if args.quick else 3.0)


if __name__ == "__main__":
    asyncio.run(main())
