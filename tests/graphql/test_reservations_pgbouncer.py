"""Reservations behind PgBouncer in transaction mode (Debian's `pgbouncer`), as replicas run in
production: two `spendlimits serve` processes reach PostgreSQL only through a PgBouncer this test
starts, and race reserve -> settle cycles for one user.

PgBouncer 1.18 (Debian 12) has no support for protocol-level prepared statements; the service runs
with SPENDLIMITS_DB_POOLER=transaction (no statement caches, collision-free statement names, no
startup parameters PgBouncer refuses). Decisions are one statement each and the user's lock is a
transaction lock, so both work through it: 0 fallbacks, nothing left held, the limit exact.
"""

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import plain
from tests.graphql.test_reservations_contention import LIMIT, cycles, scene, totals
from tests.reliability.postgres import free_port
from tests.reliability.service import Server

pytestmark = pytest.mark.slow

#: PgBouncer's server connections: more than both servers' pools (10 each, as
#: tests/reliability/service.py sets them), so nothing queues inside PgBouncer.
SERVER_CONNECTIONS = 40


@pytest.fixture
def pgbouncer(database_url: str) -> Iterator[str]:
    """A PgBouncer in transaction mode on a free port, in front of the test database; its URL."""
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not Path(binary).exists():
        pytest.fail("pgbouncer is not installed: apt-get install pgbouncer (make test-slow does it)")
    target = plain(database_url)
    name = target.rsplit("/", 1)[1]
    port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="spendlimits-pgbouncer-"))
    (folder / "users.txt").write_text('"postgres" ""\n')
    (folder / "pgbouncer.ini").write_text(
        f"""
[databases]
{name} = host=127.0.0.1 port=5432 dbname={name} user=postgres

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {folder / "users.txt"}
admin_users = postgres
pool_mode = transaction
max_client_conn = 400
default_pool_size = {SERVER_CONNECTIONS}
"""
    )
    folder.chmod(0o755)
    for file in folder.iterdir():
        file.chmod(0o644)
    # PgBouncer will not run as root; it drops to the postgres user when started as root.
    command = [binary, *(["-u", "postgres"] if os.geteuid() == 0 else []), str(folder / "pgbouncer.ini")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                output = process.stdout.read().decode() if process.stdout else ""
                raise RuntimeError(f"pgbouncer exited: {output}")
            try:
                asyncio.run(_ping(f"postgresql://postgres@127.0.0.1:{port}/{name}"))
                break
            except (OSError, asyncpg.PostgresError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield f"postgresql://postgres@127.0.0.1:{port}/{name}"
    finally:
        process.terminate()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()
        shutil.rmtree(folder, ignore_errors=True)


async def _ping(url: str) -> None:
    conn = await asyncpg.connect(url, statement_cache_size=0)
    await conn.close()


async def test_two_processes_through_pgbouncer_in_transaction_mode(
    engine: AsyncEngine, database_url: str, pgbouncer: str, tmp_path: Path, record_property: Any
) -> None:
    # What the service's connections set at connect elsewhere, set on the database instead.
    direct = await asyncpg.connect(plain(database_url))
    try:
        name = plain(database_url).rsplit("/", 1)[1]
        await direct.execute(
            f'ALTER DATABASE "{name}" SET plan_cache_mode = force_generic_plan;'
            f'ALTER DATABASE "{name}" SET jit = off;'
            f'ALTER DATABASE "{name}" SET statement_timeout = 5000'
        )
    finally:
        await direct.close()
    seen = await scene(engine)
    # A 3 s budget: with the default 1 s, 1 to 15 reserves of a run were answered by the enforcement
    # mode in 9 runs of 12 on a machine at load 5-9 (RELIABILITY.md, section 6, has what was found:
    # a backend's first reserve compiles and plans the function, partly while holding the user's
    # lock, and up to 40 backends are met cold; 16 clients share a server's 10 pooled connections).
    # What this test proves is that decisions are correct through transaction pooling; the 1 s
    # claim under contention is the direct test's.
    env = {
        "SPENDLIMITS_DB_POOLER": "transaction",
        "SPENDLIMITS_LOG_LEVEL": "WARNING",
        "SPENDLIMITS_CHECK_TIMEOUT_MS": "3000",
    }
    servers = [Server(database_url=pgbouncer, log=tmp_path / f"server{i}.log", env=env) for i in range(2)]
    try:
        # One after the other: `serve` checks migrations under a session advisory lock at start.
        for server in servers:
            await server.start()
        run = await cycles([s.url for s in servers], seen, clients=32, total=160)
    finally:
        for server in servers:
            server.stop()
    spend, held, _ = await totals(engine)
    assert (run.fallbacks, run.unavailable) == (0, 0)
    assert held == 0 and spend == sum(run.admitted.values()) <= LIMIT
    assert len(run.admitted) > 0
    logs = "".join(s.log_text() for s in servers)
    assert "prepared statement" not in logs and "ERROR" not in logs, logs[-2000:]
    record_property("figures", {"admitted": len(run.admitted), "refused": run.refused})
