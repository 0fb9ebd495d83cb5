"""Benchmark: the server's CPU per decision request (DaemonCheck, ReserveChatSpend), in process.

    .venv/bin/python bench/decision_cpu.py [--quick] [--baseline DIR/src] [--profile FILE]

The application is called directly as ASGI (no socket, no uvicorn), one request at a time, against
a real scratch database (``spendlimits_bench_decision_cpu``: 1,000 users, 10,000 messages) with a
CHATD token, so that process CPU time per request is the server's own: HTTP parsing in Starlette,
the token, GraphQL and the statements' client side (SQLAlchemy, asyncpg). Waiting for PostgreSQL is
not CPU time and does not count. Each request's answer must be decided (``failedOpen: false``).

``--baseline DIR/src`` runs the same measurement from another copy of the sources (``git archive
REV src | tar -x -C DIR``) in a child process, alternating with this one round by round: the load
of a shared machine then hits both alike. Each row prints the best round (least disturbed).
``--profile FILE`` runs cProfile over one round of each document and prints the top functions.
"""

import asyncio
import cProfile
import gc
import json
import os
import pstats
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


async def measure(
    url: str, token: str, users: list[str], requests: int, rounds: int, profile: str | None
) -> None:
    """Child side: one line of JSON per round, {operation: CPU µs per request}."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SPENDLIMITS_LOG_LEVEL", "INFO")
    from spendlimits.app import app_from_env

    app = app_from_env()
    async with app.router.lifespan_context(app):
        for operation in DOCUMENTS:  # warm-up: caches, pool, prepared statements
            for user in users[:50]:
                answer = await _call(app, token, _body(operation, user))
                assert b'"failedOpen":false' in answer, answer[:500]
        for _ in range(rounds):
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


def child(
    src: str | None, url: str, token: str, users: list[str], requests: int, rounds: int
) -> subprocess.Popen[str]:
    env = {**os.environ, **({"PYTHONPATH": src} if src else {})}
    here = str(Path(__file__).parent)
    code = (
        f"import sys, json, uvloop; sys.path.insert(0, {here!r}); import decision_cpu; "
        "uvloop.run(decision_cpu.measure(*json.loads(sys.argv[1])))"
    )
    arguments = json.dumps([url, token, users, requests, rounds, None])
    return subprocess.Popen(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code, arguments], env=env, stdout=subprocess.PIPE, text=True
    )


def run_rounds(src: str | None, url: str, token: str, users: list[str], requests: int) -> dict[str, float]:
    process = child(src, url, token, users, requests, 1)
    output, _ = process.communicate()
    if process.returncode:
        raise RuntimeError(f"measurement failed ({process.returncode})")
    parsed: dict[str, float] = json.loads(output.strip().splitlines()[-1])
    return parsed


async def main() -> None:
    parser = harness.base_arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, help="rounds, each copy once per round (default 5, quick 2)")
    parser.add_argument(
        "--requests", type=int, help="requests per document per round (default 2,000, quick 500)"
    )
    parser.add_argument("--baseline", metavar="SRC", help="also measure another copy of src/, taking turns")
    parser.add_argument("--profile", metavar="FILE", help="cProfile one round into FILE.<operation> instead")
    args = parser.parse_args()
    rounds = args.rounds or (2 if args.quick else 5)
    requests = args.requests or (500 if args.quick else 2000)

    async with harness.scratch_database(args.database_url, SCRATCH, args.keep) as url:
        await harness.machine_notes(url)
        seeded = await harness.seed_directory(url, USERS)
        await harness.add_messages(url, seeded, MESSAGES)
        users = [str(u) for u in seeded.users[:100]]
        if args.profile:
            await measure(url, seeded.chatd_token, users, requests, 1, args.profile)
            for operation in DOCUMENTS:
                print(f"\n## {operation}")
                pstats.Stats(f"{args.profile}.{operation}").sort_stats("tottime").print_stats(30)
            return
        copies = {"now": None, **({"before (--baseline)": args.baseline} if args.baseline else {})}
        results: dict[str, list[dict[str, float]]] = {name: [] for name in copies}
        for _ in range(rounds):
            for name, src in copies.items():
                results[name].append(
                    await asyncio.to_thread(run_rounds, src, url, seeded.chatd_token, users, requests)
                )
        print(
            f"# {requests:,} requests per document per round, {rounds} rounds, one at a time; load {os.getloadavg()}"
        )
        header = ["copy", *(f"{op}: server CPU µs/request, best (each round)" for op in DOCUMENTS)]
        rows = [
            [
                name,
                *(
                    f"{min(r[op] for r in runs):,.0f} ({' '.join(f'{r[op]:,.0f}' for r in runs)})"
                    for op in DOCUMENTS
                ),
            ]
            for name, runs in results.items()
        ]
        harness.print_table(header, rows)


if __name__ == "__main__":
    uvloop.run(main())
