"""`serve --workers 2`: one /metrics view of both workers, and the shared directory cleaned up."""

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.directory.users import User
from tests.conftest import make_token
from tests.metrics_scrape import requests_served
from tests.test_graphiql_browser import _answers_healthz, _free_port

REQUESTS = 60
QUERY = "query WorkerProbe { viewer { username } }"


@pytest.fixture
def two_workers(database_url: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`spendlimits serve --workers 2` on a free port; yields its URL and its temp directory."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SPENDLIMITS_LOG_LEVEL": "WARNING",
        "TMPDIR": str(tmp_path),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(  # noqa: S603 - this interpreter running this package
            [
                sys.executable,
                "-m",
                "spendlimits",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "2",
            ],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            if not _answers_healthz(base, process):
                output.seek(0)
                pytest.fail(f"the server did not start:\n{output.read().decode(errors='replace')}")
            yield base, tmp_path
        finally:
            process.terminate()
            process.wait(timeout=30)


@pytest.mark.slow
async def test_every_scrape_counts_the_requests_of_both_workers(
    two_workers: tuple[str, Path], engine: AsyncEngine, owner: User
) -> None:
    base, tmp = two_workers
    headers = {"Authorization": f"Bearer {await make_token(engine, owner)}"}
    # A new connection per request, so the kernel hands them to both workers.
    for _ in range(REQUESTS):
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=10) as http:
            answer = await http.post("/graphql", json={"query": QUERY})
            assert answer.status_code == 200, answer.text
    for _ in range(10):
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=10) as http:
            scrape = await http.get("/metrics")
            assert scrape.status_code == 200
            assert requests_served(scrape.text, "WorkerProbe") == REQUESTS
    shared = list(tmp.glob("spendlimits-metrics-*"))
    assert len(shared) == 1 and list(shared[0].glob("*.db")), shared


@pytest.mark.slow
def test_the_shared_directory_is_removed_when_the_server_stops(database_url: str, tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SPENDLIMITS_LOG_LEVEL": "WARNING",
        "TMPDIR": str(tmp_path),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    process = subprocess.Popen(  # noqa: S603 - this interpreter running this package
        [
            sys.executable,
            "-m",
            "spendlimits",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "2",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert _answers_healthz(f"http://127.0.0.1:{port}", process)
        assert list(tmp_path.glob("spendlimits-metrics-*"))
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert list(tmp_path.glob("spendlimits-metrics-*")) == []
