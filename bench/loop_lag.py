"""Benchmark: how long the heaviest accepted document holds the event loop, and what it costs a check.

    .venv/bin/python bench/loop_lag.py [--quick] [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

Seeds 500 users (harness.seed_directory: one organization, two groups with limits, overrides),
then serves the app in this process (the ASGI app over httpx's in-process transport, real
PostgreSQL) and runs, one after another, the most expensive document the default cost limit
accepts (``HEAVY``: a page of 500 users with groups, organizations, statuses and effective limits)
while a probe task sleeps 1 ms in a loop and records how late it wakes up: the longest wake-up
delay is the longest stretch the loop was held, during which no other request (an admission
check included) could make progress. Printed for each variant measured in the same run:
``unsliced`` (lists completed in one stretch, as graphql-core does) and ``sliced``
(graphql/budget.py: long lists yield to the loop every ``SLICE`` items).
"""

import asyncio
import statistics
import time
from dataclasses import replace

import harness
import httpx
import uvloop

from spendlimits.app import create_app
from spendlimits.db.engine import create_engine
from spendlimits.graphql import budget
from spendlimits.settings import Settings

SCRATCH = "spendlimits_bench_loop_lag"
USERS = 500
HEAVY = """
query Heavy { users(first: 500) { totalCount nodes { id username name email role createdAt
  groups { id name chatSpendLimitMicros } organizations { id name }
  effectiveChatSpendLimit { limitMicros source }
  chatUsageLimitStatus { isLimited limitSource spendLimitMicros currentSpendMicros remainingMicros heldMicros exceeded periodStart periodEnd } } } }
"""


async def measure(settings: Settings, url: str, token: str, runs: int) -> dict[str, float]:
    engine = create_engine(url, settings)
    app = create_app(engine, settings)
    lags: list[float] = []
    stop = False

    async def probe() -> None:
        while not stop:
            before = time.perf_counter()
            await asyncio.sleep(0.001)
            lags.append(time.perf_counter() - before - 0.001)

    latencies, size = [], 0
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=60
        ) as http:
            headers = {"Authorization": f"Bearer {token}"}
            warm = await http.post("/graphql", json={"query": HEAVY}, headers=headers)
            assert warm.status_code == 200 and "errors" not in warm.json(), warm.text[:300]
            task = asyncio.create_task(probe())
            for _ in range(runs):
                started = time.perf_counter()
                response = await http.post("/graphql", json={"query": HEAVY}, headers=headers)
                latencies.append(time.perf_counter() - started)
                assert response.status_code == 200 and "errors" not in response.json()
                size = len(response.content)
            stop = True
            await task
    finally:
        await engine.dispose()
    return {
        "heavy_ms_median": statistics.median(latencies) * 1000,
        "response_kib": size / 1024,
        "stall_ms_max": max(lags) * 1000,
        "stall_ms_p99": statistics.quantiles(lags, n=100)[98] * 1000,
    }


async def main() -> None:
    parser = harness.base_arguments(__doc__.split("\n\n")[0])
    args = parser.parse_args()
    runs = 5 if args.quick else 20
    async with harness.scratch_database(args.database_url, SCRATCH, args.keep) as url:
        await harness.machine_notes(url)
        seeded = await harness.seed_directory(url, USERS)
        base = replace(Settings.from_env(), database_url=url)
        variants = {"unsliced": budget.SLICE, "sliced": budget.SLICE}
        print(f"# {USERS} users; {runs} runs of HEAVY per variant, alternating rounds\n", flush=True)
        results: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
        for _ in range(2 if args.quick else 3):
            for name, size in variants.items():
                budget.SLICE = 10**9 if name == "unsliced" else size
                results[name].append(await measure(base, url, seeded.owner_token, runs))
        rows = []
        for name, rounds in results.items():
            rows.append([name] + [f"{statistics.median(r[k] for r in rounds):.1f}" for k in rounds[0]])
        harness.print_table(["variant", "heavy ms", "response KiB", "max stall ms", "p99 stall ms"], rows)


if __name__ == "__main__":
    uvloop.run(main())
