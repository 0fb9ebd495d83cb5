"""Benchmark: the server's CPU per decision request (DaemonCheck, ReserveChatSpend), in process.

    .venv/bin/python bench/decision_cpu.py [--quick] [--baseline DIR/src] [--profile FILE]

The application is called directly as ASGI (no socket, no uvicorn), one request at a time, against
a real scratch database (``spendlimits_bench_decision_cpu``: 1,000 users, 10,000 messages) with a
CHATD token, so that process CPU time per request is the server's own: HTTP parsing in Starlette,
the token, GraphQL and the statements' client side (SQLAlchemy, asyncpg). Waiting for PostgreSQL is
not CPU time and does not count. Each request's answer must be decided (``failedOpen: false``).

Each copy of the sources runs in a child process started once. ``--baseline DIR/src`` adds one
running another copy (``git archive REV src | tar -x -C DIR``), alternating with this one round by
round, so the load of a shared machine hits both alike: rows print the median and the best round,
and the last row the median of each round's ratio (now ÷ before), the figure to read.
``--profile FILE`` runs cProfile over one round of each document and prints the top functions.
"""

import asyncio
import cProfile
import gc
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import harness
import uvloop

SCRATCH = "spendlimits_bench_decision_cpu"
USERS = 1_000
MESSAGES = 10_000
OPERATIONS = harness.REPO / "clients/typescript/operations"
DOCUMENTS = {
    "DaemonCheck": (OPERATIONS / "daemonCheck.graphql").read_text(),
    # The daemon's reserve with its fragment of reservation fields (UserErrorFields inlined: the
    # client's operations share one fragment file).
    "ReserveChatSpend": (OPERATIONS / "reservations.graphql")
    .read_text()
    .replace("...UserErrorFields", "code message field"),
}


def _body(operation: str, user: str) -> bytes:
    if operation == "DaemonCheck":
        variables: dict[str, Any] = {"userId": user}
    else:
        variables = {"input": {"userId": user, "estimateMicros": 1, "ttlSeconds": 60}}
    return json.dumps(
        {"query": DOCUMENTS[operation], "operationName": operation, "variables": variables}
    ).encode()


async def _call(app: Any, token: str, body: bytes) -> bytes:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"bench"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"authorization", f"Bearer {token}".encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    sent = False
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return b"".join(chunks)


async def measure(url: str, token: str, users: list[str], requests: int, profile: str | None) -> None:
    """Child side: waits for a line on stdin, runs one round, prints {operation: CPU µs per
    request} as a line of JSON; until stdin closes. Started once per copy of the sources, so the
    rounds of the copies can alternate closely without paying for start-up each time."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SPENDLIMITS_LOG_LEVEL", "INFO")
    from spendlimits.app import app_from_env

    app = app_from_env()
    async with app.router.lifespan_context(app):
        for operation in DOCUMENTS:  # warm-up: caches, pool, prepared statements
            for user in users[:50]:
                answer = await _call(app, token, _body(operation, user))
                assert b'"failedOpen":false' in answer, answer[:500]
        print("ready", flush=True)
        while sys.stdin.readline():
            figures = {}
            for operation in DOCUMENTS:
                bodies = [_body(operation, users[i % len(users)]) for i in range(requests)]
                profiler = cProfile.Profile(time.process_time) if profile else None
                gc.collect()
                started = time.process_time()
                if profiler:
                    profiler.enable()
                for body in bodies:
                    await _call(app, token, body)
                if profiler:
                    profiler.disable()
                    profiler.dump_stats(f"{profile}.{operation}")
                figures[operation] = (time.process_time() - started) / requests * 1e6
            print(json.dumps(figures), flush=True)


async def measure_graphql(requests: int) -> None:
    """Child side of ``--graphql-only``: the schema alone (``schema.execute``), the domain's
    ``check`` and ``reserve`` stubbed with fixed answers, a context without a database. Rounds as
    in ``measure``."""
    import uuid
    from datetime import UTC, datetime, timedelta
    from types import SimpleNamespace

    from spendlimits.graphql.mutations import reservations as reserve_mutation
    from spendlimits.graphql.queries import limits as limit_queries
    from spendlimits.graphql.schema import schema
    from spendlimits.graphql.types.enums import LimitSource
    from spendlimits.limits import check, reservations, resolution, status
    from spendlimits.limits.periods import Period

    now = datetime.now(UTC)
    user = uuid.uuid4()
    limit = resolution.EffectiveLimit(user, None, LimitSource.DEFAULT, 10**12, None, Period.MONTH)
    found = status.Status(limit, 5, now, now + timedelta(days=30), held_micros=0, allowed=True)
    decided = check.decide(found, True)
    held = reservations.Reservation(
        uuid.uuid4(),
        user,
        None,
        None,
        1,
        reservations.ReservationState.HELD,
        now,
        now + timedelta(minutes=5),
        None,
        None,
    )

    async def stub_check(*_: Any, **__: Any) -> Any:
        return decided

    async def stub_reserve(*_: Any, **__: Any) -> Any:
        return reservations.Reserved(reservation=held, check=decided)

    # Through the modules' namespaces: the names the resolvers look up at run time.
    vars(limit_queries)["check"] = stub_check
    vars(reserve_mutation)["reservations"] = SimpleNamespace(
        reserve=stub_reserve, ReserveRequest=reservations.ReserveRequest
    )

    class Context(SimpleNamespace):
        def decision_budget(self) -> float:
            return 1.0

    def context() -> Context:
        return Context(
            request=SimpleNamespace(scope={}),
            principal=SimpleNamespace(is_service=True),
            engine=None,
            settings=SimpleNamespace(check_timeout_ms=1000, max_query_cost=10**9),
        )

    variables: dict[str, dict[str, Any]] = {
        "DaemonCheck": {"userId": str(user)},
        "ReserveChatSpend": {"input": {"userId": str(user), "estimateMicros": 1, "ttlSeconds": 60}},
    }

    async def run(operation: str, count: int) -> float:
        started = time.process_time()
        for _ in range(count):
            result = await schema.execute(
                DOCUMENTS[operation], variables[operation], context(), operation_name=operation
            )
            assert not result.errors, result.errors
        return (time.process_time() - started) / count * 1e6

    for operation in DOCUMENTS:
        await run(operation, 200)
    print("ready", flush=True)
    while sys.stdin.readline():
        print(json.dumps({operation: await run(operation, requests) for operation in DOCUMENTS}), flush=True)


class Child:
    """One copy of the sources measuring in its own process (``src`` first on its path)."""

    def __init__(self, src: str | None, entry: str, arguments: list[Any]) -> None:
        env = {**os.environ, **({"PYTHONPATH": src} if src else {})}
        here = str(Path(__file__).parent)
        code = (
            f"import sys, json, uvloop; sys.path.insert(0, {here!r}); import decision_cpu; "
            f"uvloop.run(decision_cpu.{entry}(*json.loads(sys.argv[1])))"
        )
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and code
            [sys.executable, "-c", code, json.dumps(arguments)],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self._line()  # "ready"

    def _line(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"measurement failed ({self.process.wait()})")
        return line

    def round(self) -> dict[str, float]:
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()
        parsed: dict[str, float] = json.loads(self._line())
        return parsed

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(30)


async def main() -> None:
    parser = harness.base_arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, help="rounds, each copy once per round (default 15, quick 3)")
    parser.add_argument(
        "--requests", type=int, help="requests per document per round (default 300, quick 200)"
    )
    parser.add_argument("--baseline", metavar="SRC", help="also measure another copy of src/, taking turns")
    parser.add_argument("--profile", metavar="FILE", help="cProfile one round into FILE.<operation> instead")
    parser.add_argument(
        "--graphql-only",
        action="store_true",
        help="the schema alone, the domain stubbed, no database (default requests 2,000)",
    )
    args = parser.parse_args()
    rounds = args.rounds or (3 if args.quick else 15)
    requests = args.requests or (
        (500 if args.quick else 2000) if args.graphql_only else (200 if args.quick else 300)
    )
    copies = {"now": None, **({"before (--baseline)": args.baseline} if args.baseline else {})}
    if args.graphql_only:
        print(f"# schema.execute only, domain stubbed; {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC")
        report(
            measure_rounds(
                {n: Child(src, "measure_graphql", [requests]) for n, src in copies.items()}, rounds
            ),
            requests,
            rounds,
            args.baseline is not None,
        )
        return

    async with harness.scratch_database(args.database_url, SCRATCH, args.keep) as url:
        await harness.machine_notes(url)
        seeded = await harness.seed_directory(url, USERS)
        await harness.add_messages(url, seeded, MESSAGES)
        users = [str(u) for u in seeded.users[:100]]
        if args.profile:
            sys.stdin = io.StringIO("go\n")
            await measure(url, seeded.chatd_token, users, requests, args.profile)
            for operation in DOCUMENTS:
                print(f"\n## {operation}")
                pstats.Stats(f"{args.profile}.{operation}").sort_stats("tottime").print_stats(30)
            return
        children = {
            name: await asyncio.to_thread(
                Child, src, "measure", [url, seeded.chatd_token, users, requests, None]
            )
            for name, src in copies.items()
        }
        results = await asyncio.to_thread(measure_rounds, children, rounds)
    report(results, requests, rounds, args.baseline is not None)


def measure_rounds(children: dict[str, Child], rounds: int) -> dict[str, list[dict[str, float]]]:
    """Each child once per round, in turn."""
    results: dict[str, list[dict[str, float]]] = {name: [] for name in children}
    try:
        for _ in range(rounds):
            for name, child in children.items():
                results[name].append(child.round())
    finally:
        for child in children.values():
            child.close()
    return results


def report(results: dict[str, list[dict[str, float]]], requests: int, rounds: int, baseline: bool) -> None:
    print(
        f"# {requests:,} requests per document per round, {rounds} rounds, one at a time; load {os.getloadavg()}"
    )
    header = ["copy", *(f"{op}: server CPU µs/request, median (best)" for op in DOCUMENTS)]
    rows = [
        [
            name,
            *(
                f"{statistics.median(r[op] for r in runs):,.0f} ({min(r[op] for r in runs):,.0f})"
                for op in DOCUMENTS
            ),
        ]
        for name, runs in results.items()
    ]
    if baseline:
        # Rounds next to each other saw the same load: the median of their ratios is the figure.
        now, before = results["now"], results["before (--baseline)"]
        rows.append(
            [
                "now ÷ before, median of each round's ratio",
                *(
                    f"{statistics.median(n[op] / b[op] for n, b in zip(now, before, strict=True)):.2f}"
                    for op in DOCUMENTS
                ),
            ]
        )
    harness.print_table(header, rows)


if __name__ == "__main__":
    uvloop.run(main())
