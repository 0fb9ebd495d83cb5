"""Fixtures of the reliability suite: a PostgreSQL and a `spendlimits serve` of each test's own."""

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from tests.reliability.postgres import Postgres
from tests.reliability.service import Live, Server, seed


@pytest.fixture
def postgres() -> Iterator[Postgres]:
    server = Postgres()
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.destroy()


@pytest.fixture
async def make_server(tmp_path: Path) -> AsyncIterator[Callable[..., Server]]:
    """Builds servers (not yet started) that are stopped at the end of the test."""
    servers: list[Server] = []

    def build(database_url: str, **env: str) -> Server:
        server = Server(database_url=database_url, log=tmp_path / f"server-{len(servers)}.log", env=env)
        servers.append(server)
        return server

    yield build
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """One PostgreSQL and one server for a whole module of tests that only send requests."""
    postgres = Postgres()
    server = Server(database_url=postgres.url, log=tmp_path_factory.mktemp("live") / "server.log")
    try:
        postgres.init()
        postgres.start()
        asyncio.run(server.start())
        yield Live(server=server, seeded=asyncio.run(seed(postgres.url)))
    finally:
        server.stop()
        postgres.destroy()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Prints the figures the tests recorded (record_property("figures", ...)): RELIABILITY.md quotes them."""
    reports = [r for key in ("passed", "failed") for r in terminalreporter.stats.get(key, [])]
    # "figures", or "figures, attempt N" for a test that measures again (test_mixed_load.py).
    rows = [
        (report.nodeid.split("::")[-1] + name.removeprefix("figures"), value)
        for report in reports
        if getattr(report, "when", None) == "call"
        for name, value in report.user_properties
        if name.startswith("figures")
    ]
    if rows:
        terminalreporter.section("reliability figures")
        for test, figures in rows:
            terminalreporter.write_line(f"{test}: {figures}")
