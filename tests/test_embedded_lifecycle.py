"""The embedded PostgreSQL lives as long as the server: real `spendlimits serve` processes, stopped
with SIGTERM and killed with SIGKILL, and nothing of PostgreSQL left once the next server stops.

Slow (initdb and several server starts): run by `make test-slow`.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow


def postgres_processes(data_dir: Path) -> list[int]:
    """Process ids of PostgreSQL servers (postmaster and children) working on ``data_dir``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"postgres") and str(data_dir).encode() in argv:
            found.append(int(entry.name))
    return found


def wait_until(condition: Callable[[], bool], seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


STARTED: list["subprocess.Popen[bytes]"] = []


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # Short: the server's Unix socket lives in it, and socket paths are limited to ~100 bytes.
    with tempfile.TemporaryDirectory(prefix="sl-life-") as folder:
        path = Path(folder) / "pg"
        yield path
        # Never leave anything behind, even when a test fails.
        while STARTED:
            process = STARTED.pop()
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)
            if process.stderr:
                process.stderr.close()
        for pid in postgres_processes(path):
            os.kill(pid, signal.SIGKILL)


def spendlimits_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return {**env, "SPENDLIMITS_DATA_DIR": str(data_dir), "SPENDLIMITS_LOG_LEVEL": "WARNING"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def serve(data_dir: Path, *extra: str) -> "subprocess.Popen[bytes]":
    """`spendlimits serve` on the embedded database, answering /healthz."""
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - this interpreter running this package
        [sys.executable, "-m", "spendlimits", "serve", "--port", str(port), *extra],
        env=spendlimits_env(data_dir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    STARTED.append(process)

    def healthy() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return process.poll() is not None

    assert wait_until(healthy, 120) and process.poll() is None, (
        process.stderr.read() if process.stderr else ""
    )
    return process


def cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own command with fixed arguments
        [sys.executable, "-m", "spendlimits", *args],
        env=spendlimits_env(data_dir),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_sigterm_stops_the_embedded_database(data_dir: Path) -> None:
    server = serve(data_dir)
    assert postgres_processes(data_dir)
    server.send_signal(signal.SIGTERM)
    assert server.wait(timeout=60) != -signal.SIGKILL
    assert wait_until(lambda: not postgres_processes(data_dir)), postgres_processes(data_dir)
    assert cli(data_dir, "db", "status").returncode == 3


def test_sigint_stops_it_too_without_a_traceback(data_dir: Path) -> None:
    server = serve(data_dir)
    server.send_signal(signal.SIGINT)
    server.wait(timeout=60)
    assert wait_until(lambda: not postgres_processes(data_dir)), postgres_processes(data_dir)
    assert server.stderr is not None and b"Traceback" not in server.stderr.read()


def test_with_workers_the_database_belongs_to_the_parent(data_dir: Path) -> None:
    server = serve(data_dir, "--workers", "2")
    # The workers are handed the database's address; only the parent holds it.
    status = cli(data_dir, "db", "status")
    assert status.stdout.rstrip().endswith(f"used by process(es): {server.pid}"), status.stdout
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=60)
    assert wait_until(lambda: not postgres_processes(data_dir)), postgres_processes(data_dir)


def test_after_sigkill_the_next_server_reuses_the_database_and_stops_it(data_dir: Path) -> None:
    first = serve(data_dir)
    first.kill()
    first.wait(timeout=30)
    left = postgres_processes(data_dir)
    assert left, "a killed server cannot stop anything: its PostgreSQL is still there"
    status = cli(data_dir, "db", "status")
    assert status.returncode == 0 and "used by process(es): none" in status.stdout

    second = serve(data_dir)
    # Reused, not a second server on the same files.
    assert min(left) in postgres_processes(data_dir)
    status = cli(data_dir, "db", "status")
    assert f"used by process(es): {second.pid}" in status.stdout
    second.send_signal(signal.SIGTERM)
    second.wait(timeout=60)
    assert wait_until(lambda: not postgres_processes(data_dir)), postgres_processes(data_dir)


def test_db_stop_stops_what_a_killed_server_left_and_refuses_while_one_runs(data_dir: Path) -> None:
    server = serve(data_dir)
    refused = cli(data_dir, "db", "stop")
    assert refused.returncode == 1 and f"in use by process(es) {server.pid}" in refused.stderr
    assert len(refused.stderr.splitlines()) == 1
    server.kill()
    server.wait(timeout=30)
    assert postgres_processes(data_dir)
    stopped = cli(data_dir, "db", "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert "stopped the embedded PostgreSQL" in stopped.stdout
    assert not postgres_processes(data_dir)
    again = cli(data_dir, "db", "stop")
    assert again.returncode == 0 and "was not running" in again.stdout
