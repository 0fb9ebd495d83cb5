"""Benchmark: recording messages, over HTTP one by one and batched, through the domain's batch path,
and with ``spendlimits import``.

    .venv/bin/python bench/ingest.py [--quick] [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

Creates a scratch database (``spendlimits_bench_ingest``, dropped at the end unless --keep) with
1,000 users, one chat each, and a priced model, then measures messages recorded per second:

1. ``recordChatMessage`` over HTTP (``spendlimits serve``, 1 and 2 workers), CHATD token, one
   message per request with an idempotency key and usage priced from the model, at concurrency 1
   and 16, spread over 100 users' chats (one user per connection: no two requests queue on one
   user's rollup row);
2. the same messages batched: 25 ``recordChatMessage`` fields per request (aliases; the alias limit
   is 30). GraphQL runs mutation fields one after the other, each in its own transaction, so this
   saves HTTP, token and parsing work per message, not database work;
3. ``recordChatMessages`` with 100 and 1,000 messages per request, against
   ``record_messages`` (the domain's batch path) in this process with the same batches, taking
   turns (``--batches-only`` runs just this);
4. ``directory.ingest.record_messages``, the domain's batch path (one INSERT and one rollup upsert
   per batch; what the import uses), 500 messages per call, in this process;
5. ``spendlimits import`` on a generated JSON Lines file (quick: 20,000 messages; full: 200,000),
   then the same file again (every line already present).

What the spend rollup costs ingestion against plain INSERTs is measured by bench/check_history.py
and, for concurrent writers of one user, by bench/contention.py --rollup-only.
"""

import functools
import json
import os
import subprocess
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import harness
import uvloop

from spendlimits.db.engine import create_engine
from spendlimits.directory.cost import TokenUsage
from spendlimits.directory.ingest import NewMessage, record_messages
from spendlimits.directory.messages import MessageRole
from spendlimits.settings import Settings

SCRATCH = "spendlimits_bench_ingest"
USERS = 1_000
CHATS_USED = 100
BATCH_ALIASES = 25

RECORD = """
mutation Record($input: RecordChatMessageInput!) {
  recordChatMessage(input: $input) { message { id totalCostMicros } replayed errors { code } }
}
"""


def batched_document(count: int) -> str:
    fields = "\n".join(
        f"  m{i}: recordChatMessage(input: $in{i}) {{ message {{ id totalCostMicros }} replayed errors {{ code }} }}"
        for i in range(count)
    )
    variables = ", ".join(f"$in{i}: RecordChatMessageInput!" for i in range(count))
    return f"mutation RecordBatch({variables}) {{\n{fields}\n}}"


async def add_model(url: str) -> uuid.UUID:
    conn = await asyncpg.connect(url)
    try:
        model: uuid.UUID = await conn.fetchval(
            """
            INSERT INTO chat_models (provider, model, input_price_micros, output_price_micros,
                                     cache_read_price_micros, cache_write_price_micros)
            VALUES ('anthropic', 'bench-model', 3000000, 15000000, 300000, 3750000) RETURNING id
            """
        )
    finally:
        await conn.close()
    return model


def message_input(chat: uuid.UUID, model: uuid.UUID, key: str) -> dict[str, Any]:
    return {
        "chatId": str(chat),
        "role": "ASSISTANT",
        "modelId": str(model),
        "usage": {"inputTokens": 1200, "outputTokens": 300, "cacheReadTokens": 5000},
        "idempotencyKey": key,
    }


class Keys:
    """Idempotency keys never used before in this run: every message is new."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.count = 0

    def next(self) -> str:
        self.count += 1
        return f"{self.prefix}-{self.count}"


async def over_http(
    url: str, seeded: harness.Seeded, model: uuid.UUID, workers: list[int], levels: list[int], seconds: float
) -> None:
    rows = []
    chats = seeded.chats[:CHATS_USED]
    for count in workers:
        with harness.Server(url, workers=count) as server:
            for batch in (1, BATCH_ALIASES):
                document = RECORD if batch == 1 else batched_document(batch)
                for concurrency in levels:
                    keys = Keys(f"w{count}-b{batch}-c{concurrency}")
                    async with harness.http_connections(server.port, concurrency) as connections:

                        async def work(
                            index: int,
                            connections: list[Any] = connections,
                            keys: Keys = keys,
                            batch: int = batch,
                            document: str = document,
                        ) -> None:
                            chat = chats[index % len(chats)]
                            if batch == 1:
                                variables = {"input": message_input(chat, model, keys.next())}
                            else:
                                variables = {
                                    f"in{i}": message_input(chat, model, keys.next()) for i in range(batch)
                                }
                            body = json.dumps({"query": document, "variables": variables}).encode()
                            status, answer = await connections[index].send(
                                harness.graphql_request(server.port, seeded.chatd_token, body)
                            )
                            if status != 200 or answer.count(b'"errors":[]') != batch:
                                raise RuntimeError(f"HTTP {status}: {answer[:300]!r}")

                        run, cpu = await harness.measure_cpu(
                            url,
                            server.pids(),
                            functools.partial(harness.closed_loop, concurrency, seconds, work),
                        )
                    if run.errors:
                        raise SystemExit(f"{run.errors} failed requests, first: {run.first_error}")
                    rows.append(
                        [
                            count,
                            "1 per request" if batch == 1 else f"{batch} per request (aliases)",
                            concurrency,
                            f"{run.rate * batch:,.0f}",
                            f"{run.p50:.1f} / {run.p99:.1f}",
                            f"{cpu.server / batch:,.0f} / {cpu.postgres / batch:,.0f}",
                        ]
                    )
                    print(f"  {rows[-1]}", flush=True)
    print()
    harness.print_table(
        [
            "workers",
            "recordChatMessage",
            "concurrency",
            "messages/s",
            "request p50 / p99 ms",
            "CPU µs/message: server / PG",
        ],
        rows,
    )


async def domain_batches(url: str, seeded: harness.Seeded, model: uuid.UUID, total: int, size: int) -> None:
    engine = create_engine(url, Settings.from_env())
    keys = Keys("domain")
    chats = seeded.chats[:CHATS_USED]
    usage = TokenUsage(input_tokens=1200, output_tokens=300, cache_read_tokens=5000, cache_write_tokens=0)
    try:
        started = time.perf_counter()
        for start in range(0, total, size):
            batch = [
                NewMessage(
                    chat_id=chats[(start + i) % len(chats)],
                    role=MessageRole.ASSISTANT,
                    model_id=model,
                    usage=usage,
                    idempotency_key=keys.next(),
                )
                for i in range(min(size, total - start))
            ]
            async with engine.begin() as conn:
                outcomes = await record_messages(conn, batch)
            assert all(not isinstance(o, Exception) for o in outcomes), outcomes[:3]
        elapsed = time.perf_counter() - started
    finally:
        await engine.dispose()
    harness.print_table(
        ["path", "messages", "messages/s"],
        [[f"directory.ingest.record_messages, {size} per call", f"{total:,}", f"{total / elapsed:,.0f}"]],
    )


RECORD_MANY = """
mutation RecordMany($input: RecordChatMessagesInput!) {
  recordChatMessages(input: $input) { results { message { id totalCostMicros } replayed errors { code } } errors { code } }
}
"""


def _batch(
    chats: list[uuid.UUID], model: uuid.UUID, keys: Keys, size: int, offset: int
) -> list[dict[str, Any]]:
    return [message_input(chats[(offset + i) % len(chats)], model, keys.next()) for i in range(size)]


async def batches_against_domain(
    url: str,
    seeded: harness.Seeded,
    model: uuid.UUID,
    workers: list[int],
    sizes: list[int],
    levels: list[int],
    rounds: int,
    seconds: float,
) -> None:
    """recordChatMessages over HTTP against record_messages in this process, same batches, taking
    turns. Each connection writes its own users' chats, so no two batches queue on a rollup row."""
    rows = []
    engine = create_engine(url, Settings.from_env())
    chats = seeded.chats[:CHATS_USED]
    try:
        for count in workers:
            with harness.Server(url, workers=count) as server:
                for size in sizes:
                    for concurrency in levels:
                        own = [chats[i::concurrency] for i in range(concurrency)]
                        runs: dict[str, list[tuple[harness.Run, harness.Cpu]]] = {"http": [], "domain": []}
                        for round_ in range(rounds):
                            keys = Keys(f"many-w{count}-s{size}-c{concurrency}-r{round_}")
                            async with harness.http_connections(server.port, concurrency) as connections:

                                async def http_work(
                                    index: int,
                                    connections: list[Any] = connections,
                                    keys: Keys = keys,
                                    own: list[list[uuid.UUID]] = own,
                                    size: int = size,
                                ) -> None:
                                    messages = _batch(own[index], model, keys, size, 0)
                                    body = json.dumps(
                                        {"query": RECORD_MANY, "variables": {"input": {"messages": messages}}}
                                    )
                                    status, answer = await connections[index].send(
                                        harness.graphql_request(
                                            server.port, seeded.chatd_token, body.encode()
                                        )
                                    )
                                    if status != 200 or answer.count(b'"errors":[]') != size + 1:
                                        raise RuntimeError(f"HTTP {status}: {answer[:300]!r}")

                                runs["http"].append(
                                    await harness.measure_cpu(
                                        url,
                                        server.pids(),
                                        functools.partial(
                                            harness.closed_loop, concurrency, seconds, http_work
                                        ),
                                    )
                                )

                            async def domain_work(
                                index: int,
                                keys: Keys = keys,
                                own: list[list[uuid.UUID]] = own,
                                size: int = size,
                            ) -> None:
                                batch = [
                                    NewMessage(
                                        chat_id=uuid.UUID(m["chatId"]),
                                        role=MessageRole.ASSISTANT,
                                        model_id=model,
                                        usage=TokenUsage(
                                            input_tokens=1200, output_tokens=300, cache_read_tokens=5000
                                        ),
                                        idempotency_key=m["idempotencyKey"],
                                    )
                                    for m in _batch(own[index], model, keys, size, 0)
                                ]
                                async with engine.connect() as conn:
                                    conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                                    outcomes = await record_messages(conn, batch)
                                if any(isinstance(o, Exception) for o in outcomes):
                                    raise RuntimeError(str(outcomes[0]))

                            runs["domain"].append(
                                await harness.measure_cpu(
                                    url,
                                    [],
                                    functools.partial(harness.closed_loop, concurrency, seconds, domain_work),
                                )
                            )
                        for found in runs.values():
                            for run, _ in found:
                                if run.errors:
                                    raise SystemExit(f"{run.errors} failed batches, first: {run.first_error}")
                                if not run.latencies:
                                    raise SystemExit(
                                        f"no batch of {size} finished in {seconds:g} s: try --seconds"
                                    )
                        (http, http_cpu), (domain, _) = (
                            harness.median_run(runs["http"]),
                            harness.median_run(runs["domain"]),
                        )
                        rows.append(
                            [
                                count,
                                f"{size:,}",
                                concurrency,
                                f"**{http.rate * size:,.0f}**",
                                f"{http.p50:.1f} / {http.p99:.1f}",
                                f"{http_cpu.server / size:,.1f} / {http_cpu.postgres / size:,.1f}",
                                f"{domain.rate * size:,.0f}",
                                f"**{harness.ratio(http.rate, domain.rate)}**",
                            ]
                        )
                        print(f"  {rows[-1]}", flush=True)
    finally:
        await engine.dispose()
    print()
    harness.print_table(
        [
            "workers",
            "messages per recordChatMessages",
            "concurrency",
            "HTTP messages/s",
            "request p50 / p99 ms",
            "CPU µs/message: server / PG",
            "record_messages in process, messages/s",
            "HTTP ÷ in process",
        ],
        rows,
    )


def write_import_file(path: Path, messages: int, users: int = 100, chats_per_user: int = 10) -> int:
    """Organization, users, memberships, a model, chats, then messages spread over the chats."""
    now = datetime.now(UTC).replace(microsecond=0)
    lines = 0
    with path.open("w") as out:

        def line(obj: dict[str, Any]) -> None:
            nonlocal lines
            out.write(json.dumps(obj) + "\n")
            lines += 1

        line({"type": "organization", "name": "imported"})
        line(
            {
                "type": "model",
                "provider": "anthropic",
                "model": "import-model",
                "input_price_per_million_tokens": 3000000,
                "output_price_per_million_tokens": 15000000,
            }
        )
        for u in range(users):
            line({"type": "user", "username": f"imp{u:04d}"})
            line({"type": "membership", "organization": "imported", "username": f"imp{u:04d}"})
            for c in range(chats_per_user):
                line(
                    {
                        "type": "chat",
                        "external_id": f"imp-chat-{u}-{c}",
                        "owner": f"imp{u:04d}",
                        "organization": "imported",
                    }
                )
        chat_count = users * chats_per_user
        for m in range(messages):
            chat = m % chat_count
            line(
                {
                    "type": "message",
                    "chat_external_id": f"imp-chat-{chat // chats_per_user}-{chat % chats_per_user}",
                    "role": "assistant",
                    "provider": "anthropic",
                    "model": "import-model",
                    "usage": {"input_tokens": 1000 + m % 500, "output_tokens": 200},
                    "created_at": now.isoformat().replace("+00:00", "Z"),
                    "idempotency_key": f"imp-{m}",
                }
            )
    return lines


def run_import(url: str, path: Path) -> float:
    started = time.perf_counter()
    subprocess.run(  # noqa: S603 - our own command, fixed arguments
        [str(harness.SPENDLIMITS), "import", str(path)],
        env={**os.environ, "DATABASE_URL": url},
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def bench_import(url: str, messages: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "backfill.jsonl"
        lines = write_import_file(path, messages)
        first = run_import(url, path)
        again = run_import(url, path)
    harness.print_table(
        ["spendlimits import", "lines (messages)", "seconds", "lines/s"],
        [
            ["new data", f"{lines:,} ({messages:,})", f"{first:.1f}", f"{lines / first:,.0f}"],
            ["the same file again (all present)", f"{lines:,}", f"{again:.1f}", f"{lines / again:,.0f}"],
        ],
    )


async def main() -> None:
    parser = harness.base_arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--seconds", type=float, help="seconds per HTTP run (default 5, quick 2)")
    parser.add_argument(
        "--batches-only", action="store_true", help="only recordChatMessages against the domain's batch path"
    )
    parser.add_argument("--rounds", type=int, help="rounds of the batch comparison (default 3, quick 1)")
    parser.add_argument(
        "--import-messages", type=int, help="messages in the import file (default 200,000, quick 20,000)"
    )
    args = parser.parse_args()
    seconds = args.seconds or (2.0 if args.quick else 5.0)
    import_messages = args.import_messages or (20_000 if args.quick else 200_000)
    async with harness.scratch_database(args.database_url, SCRATCH, args.keep) as url:
        await harness.machine_notes(url)
        seeded = await harness.seed_directory(url, USERS)
        model = await add_model(url)
        await batches_against_domain(
            url,
            seeded,
            model,
            args.workers,
            [100, 1000],
            [1, 4],
            args.rounds or (1 if args.quick else 3),
            max(seconds, 4.0),
        )
        if args.batches_only:
            return
        print()
        await over_http(url, seeded, model, args.workers, args.concurrency, seconds)
        print()
        await domain_batches(url, seeded, model, 20_000 if args.quick else 100_000, 500)
        print()
        bench_import(url, import_messages)


if __name__ == "__main__":
    uvloop.run(main())
