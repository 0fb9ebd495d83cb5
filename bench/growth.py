"""Benchmark: how the check's and the admin list's latency grow with messages and users.

    .venv/bin/python bench/growth.py [--quick] [--million] [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

For 100 and then 10,000 users (a fresh scratch database ``spendlimits_bench_growth`` each,
dropped at the end unless --keep), one ``spendlimits serve`` (1 worker) stays up while messages
are added in steps: 1,000, then 100,000, then (with --million) 1,000,000 in all. Half of the
messages are the first user's, the rest spread over everyone else's chats, all in this month
(the period the check reads); VACUUM ANALYZE after each step, as autovacuum would soon do. At
each step, one client, one request at a time:

- the admission check (DaemonCheck, CHATD token) for the heavy first user;
- ``users(first: 100)`` with each user's effective limit and status (bench/admin_list.py's
  document), as an OWNER.

Check latency at the last step ÷ at 1,000 messages is the rollup's promise (goal <= 1.2); a
single-user view of the same question, against Coder's per-check SUM, is bench/check_history.py.
"""

import json
import time

import admin_list
import harness
import http_check
import uvloop

SCRATCH = "spendlimits_bench_growth"


async def latency(port: int, request: bytes, expect: bytes, count: int) -> harness.Run:
    async with harness.http_connections(port, 1) as (connection,):
        samples = []
        for i in range(count + 5):
            started = time.perf_counter()
            status, body = await connection.send(request)
            elapsed = time.perf_counter() - started
            if status != 200 or expect not in body:
                raise SystemExit(f"HTTP {status}: {body[:300]!r}")
            if i >= 5:
                samples.append(elapsed)
    return harness.Run(samples, sum(samples))


async def level(
    server_url: str, users: int, steps: list[int], checks: int, lists: int, keep: bool
) -> list[list[str]]:
    rows = []
    async with harness.scratch_database(server_url, SCRATCH, keep) as url:
        seeded = await harness.seed_directory(url, users)
        with harness.Server(url, workers=1) as server:
            check = http_check.check_requests(server.port, seeded.chatd_token, seeded.users[:1])[0]
            listing = harness.graphql_request(
                server.port,
                seeded.owner_token,
                json.dumps({"query": admin_list.ADMIN_USERS, "variables": {"first": 100}}).encode(),
            )
            for total in steps:
                seeded_in = await harness.add_messages(url, seeded, total - seeded.messages)
                check_run = await latency(server.port, check, http_check.EXPECT, checks)
                list_run = await latency(server.port, listing, b'"totalCount":', lists)
                rows.append(
                    [
                        f"{users:,}",
                        f"{total:,}",
                        f"{check_run.p50:.2f} / {check_run.p99:.2f}",
                        f"{list_run.p50:.1f} / {list_run.p99:.1f}",
                        f"{seeded_in:.0f} s",
                    ]
                )
                print(f"  {rows[-1]}", flush=True)
    return rows


async def main() -> None:
    parser = harness.base_arguments(__doc__.split("\n\n")[0])
    parser.add_argument(
        "--million", action="store_true", help="add the 1,000,000-message step (a few minutes)"
    )
    parser.add_argument("--checks", type=int, help="timed checks per step (default 500, quick 100)")
    parser.add_argument("--lists", type=int, help="timed lists per step (default 40, quick 10)")
    args = parser.parse_args()
    steps = [1_000, 100_000] + ([1_000_000] if args.million else [])
    checks = args.checks or (100 if args.quick else 500)
    lists = args.lists or (10 if args.quick else 40)
    async with harness.scratch_database(args.database_url, SCRATCH) as url:
        await harness.machine_notes(url)
    rows: list[list[str]] = []
    for users in (100, 10_000):
        rows += await level(args.database_url, users, steps, checks, lists, args.keep)
    print()
    harness.print_table(
        ["users", "messages", "check p50 / p99 ms", "users(first: 100) p50 / p99 ms", "seeding the step"],
        rows,
    )
    for shown in ("100", "10,000"):
        mine = [r for r in rows if r[0] == shown]
        first, last = (float(r[2].split(" / ")[0]) for r in (mine[0], mine[-1]))
        print(f"check p50 at {mine[-1][1]} messages ÷ at {mine[0][1]}, {shown} users: {last / first:.2f}")
    small, large = (float(r[3].split(" / ")[0]) for r in (rows[len(steps) - 1], rows[-1]))
    print(f"list p50 at 10,000 users ÷ at 100 users, {rows[-1][1]} messages: {large / small:.2f}")


if __name__ == "__main__":
    uvloop.run(main())
