"""Benchmark: what each performance lever on the admission check's path is worth, in one run.

    .venv/bin/python bench/check_levers.py [--quick] [--baseline DIR/src] [--workers 1] [--concurrency 16]

Same scratch data and load as bench/http_check.py (DaemonCheck with a CHATD token over HTTP).
Servers with one lever each taken back (a ``sitecustomize`` module patched in through PYTHONPATH,
or an environment variable) take turns under the same load, one at a time (started, warmed up for
a second, measured, stopped), once per round; each row prints the median round. Levers:

- the hot statements on the driver connection (spendlimits.db.driver);
- ``plan_cache_mode = force_generic_plan`` on the service's connections (db/engine.py);
- token verification in autocommit (auth/authenticator.py);
- ``gc.freeze()`` after start-up (app.py);
- the document cache (graphql/document_cache.py) against strawberry's ParserCache and
  ValidationCache;
- one schema extension (graphql/request_hooks.py) against the same hooks in four extensions;
- plain fields on the check's answer (graphql/types/limit_status.py) against a method resolver
  per field;
- and a row with every lever where the client sends the registered documentId (trusted documents)
  instead of the document's text;
- the pool's defaults: 20 connections kept, no overflow (settings.py), against 10 + 10 overflow;
- and, for reference, the per-request log line (SPENDLIMITS_LOG_LEVEL=WARNING turns it off; kept).

``--baseline`` adds a server running another copy of src/ (the code before these changes).
Server CPU per request is the steadiest column on a shared machine; requests/s and p99 move
with whatever else runs.
"""

import functools
import statistics
import sys
import tempfile
from pathlib import Path

import harness
import http_check
import uvloop

SCRATCH = "spendlimits_bench_levers"

PATCHES = {
    "without the driver path": """
from spendlimits.db import driver

async def fetch(self, conn, params):
    return [row._mapping for row in await conn.execute(self.statement, params)]

driver.HotStatement.fetch = fetch
""",
    "without generic plans (PostgreSQL's default, auto)": """
from sqlalchemy import event
from spendlimits.db import engine as module

_create = module.create_engine

def create_engine(url, settings):
    engine = _create(url, settings)

    @event.listens_for(engine.sync_engine, "connect")
    def auto(dbapi_connection, _):
        dbapi_connection.run_async(lambda conn: conn.execute("SET plan_cache_mode = auto"))

    return engine

module.create_engine = create_engine
""",
    "without autocommit for the token": """
from spendlimits.auth import authenticator

_init = authenticator.Authenticator.__init__

def __init__(self, engine, timeout_seconds):
    _init(self, engine, timeout_seconds)
    self._engine = engine

authenticator.Authenticator.__init__ = __init__
""",
    "without the document cache (strawberry's ParserCache + ValidationCache)": """
from functools import partial
from strawberry.extensions import ParserCache, ValidationCache
from spendlimits.graphql import document_cache, schema

document_cache.cached_parse = lambda context: None
document_cache.cached_validate = lambda context: None
schema.schema.extensions = [
    *schema.schema.extensions, partial(ParserCache, maxsize=256), partial(ValidationCache, maxsize=256)
]
""",
    "with four extensions instead of one (the same hooks, as before graphql/request_hooks.py)": """
from strawberry.extensions import SchemaExtension
from spendlimits.graphql import document_cache, errors, hardening, operation_outcome, schema

class RecordOperation(SchemaExtension):
    def on_operation(self):
        yield
        operation_outcome.record(self.execution_context)

class ErrorCodes(SchemaExtension):
    def on_operation(self):
        yield
        errors.assign_codes(self.execution_context)

class DocumentLimits(SchemaExtension):
    def on_operation(self):
        hardening.limit_document(self.execution_context)
        yield

class CostLimitedDocuments(SchemaExtension):
    def on_parse(self):
        document_cache.cached_parse(self.execution_context)
        yield

    def on_validate(self):
        document_cache.cached_validate(self.execution_context)
        hardening.limit_cost(self.execution_context)
        yield

schema.schema.extensions = [RecordOperation, ErrorCodes, DocumentLimits, CostLimitedDocuments]
""",
    "with method resolvers on the answer's fields (as before graphql/types/limit_status.py's plain fields)": """
from strawberry.types.fields.resolver import StrawberryResolver
from spendlimits.graphql.types import limit_status

# Every plain field of the check's answer through strawberry's resolver wrapper again, reading
# the same attribute: what a method field cost before (patched before the schema is built).
def as_method(type_):
    for field in type_.__strawberry_definition__.fields:
        if field.base_resolver is None:
            name = field.python_name
            field.base_resolver = StrawberryResolver(eval(f"lambda self: self.{name}"))

for type_ in (limit_status.ChatUsageLimitCheck, limit_status.ChatUsageLimitStatus, limit_status.ChatUsageLimitExceeded):
    as_method(type_)
""",
    "without gc.freeze()": """
import gc

gc.freeze = lambda: None
""",
}
ENVIRONMENTS = {
    "with the old pool defaults (10 kept + 10 overflow)": {
        "SPENDLIMITS_DB_POOL_SIZE": "10",
        "SPENDLIMITS_DB_POOL_MAX_OVERFLOW": "10",
    },
    "without the request log line (reference only)": {"SPENDLIMITS_LOG_LEVEL": "WARNING"},
}
#: Rows that change what the client sends, not the server.
TRUSTED = "now, sending the documentId instead of the text (trusted documents)"


def variants(patch_root: Path, baseline: str | None) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {"now (every lever)": {}}
    for index, (name, source) in enumerate(PATCHES.items()):
        folder = patch_root / f"patch{index}"
        folder.mkdir()
        (folder / "sitecustomize.py").write_text(source)
        found[name] = {"PYTHONPATH": str(folder)}
    found.update(ENVIRONMENTS)
    found[TRUSTED] = {}
    if baseline:
        found["before (--baseline)"] = {"PYTHONPATH": baseline}
    return found


async def bench(
    url: str,
    seeded: harness.Seeded,
    workers: int,
    concurrency: int,
    rounds: int,
    seconds: float,
    baseline: str | None,
) -> None:
    users = seeded.users[: http_check.CHECKED_USERS]
    with tempfile.TemporaryDirectory() as patches:
        environments = variants(Path(patches), baseline)
        runs: dict[str, list[tuple[harness.Run, harness.Cpu]]] = {name: [] for name in environments}
        for round_ in range(rounds):
            # One server at a time: eight pools at once would not fit in max_connections.
            for name, env in environments.items():
                with harness.Server(url, workers=workers, env=env) as server:
                    requests = http_check.check_requests(
                        server.port, seeded.chatd_token, users, trusted=name == TRUSTED
                    )
                    measured = await harness.measure_cpu(
                        url,
                        server.pids(),
                        functools.partial(
                            harness.http_load,
                            server.port,
                            concurrency,
                            seconds,
                            requests,
                            http_check.EXPECT,
                            warmup=1.0,
                        ),
                    )
                if measured[0].errors:
                    sys.exit(
                        f"{name}: {measured[0].errors} failed requests, first: {measured[0].first_error}"
                    )
                runs[name].append(measured)
            print(f"  round {round_ + 1} of {rounds} done", flush=True)
    now_run, _ = harness.median_run(runs["now (every lever)"])
    rows = []
    for name, found in runs.items():
        run, cpu = harness.median_run(found)
        rates = " ".join(f"{r.rate:.0f}" for r, _ in found)
        server_cpu = statistics.median(c.server for _, c in found)
        rows.append(
            [
                name,
                f"{run.rate:,.0f} ({rates})",
                f"{run.p50:.1f} / {run.p99:.1f}",
                f"{server_cpu:,.0f}",
                f"{cpu.postgres:,.0f}",
                harness.ratio(now_run.rate, run.rate),
                harness.ratio(server_cpu, statistics.median(c.server for _, c in runs["now (every lever)"])),
            ]
        )
    print()
    harness.print_table(
        [
            f"server ({workers} worker(s), concurrency {concurrency})",
            "checks/s: median (each round)",
            "p50 / p99 ms",
            "server CPU µs/check",
            "PostgreSQL CPU µs/check",
            "now's checks/s ÷ this",
            "this server CPU ÷ now's",
        ],
        rows,
    )


async def main() -> None:
    parser = harness.base_arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, help="rounds, each server once per round (default 5, quick 1)")
    parser.add_argument("--seconds", type=float, help="seconds per timed run (default 3, quick 2)")
    parser.add_argument("--baseline", metavar="SRC", help="also run a server from another copy of src/")
    args = parser.parse_args()
    rounds = args.rounds or (1 if args.quick else 5)
    seconds = args.seconds or (2.0 if args.quick else 3.0)
    async with harness.scratch_database(args.database_url, SCRATCH, args.keep) as url:
        await harness.machine_notes(url)
        seeded = await harness.seed_directory(url, http_check.USERS)
        await harness.add_messages(url, seeded, http_check.MESSAGES)
        print(f"# {rounds} round(s) of {seconds:g} s per server, servers taking turns", flush=True)
        await bench(url, seeded, args.workers, args.concurrency, rounds, seconds, args.baseline)


if __name__ == "__main__":
    uvloop.run(main())
