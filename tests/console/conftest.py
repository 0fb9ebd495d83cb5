"""A real `spendlimits serve --demo` on a free port of 127.0.0.1 with a database of its own, tokens
for an owner, an auditor and a member of the demo, and a Chromium (Debian's, driven by Playwright)
that can reach nothing but that server.

The server and its demo data are made once per module: loading the demo takes seconds. Tests that
change data each use their own users or groups, so their order does not matter.
"""

import asyncio
import os
import re
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from spendlimits.auth.tokens import create_token
from spendlimits.db.engine import create_engine
from spendlimits.settings import Settings
from tests.chromium import find_chromium
from tests.conftest import ROOT, with_database
from tests.reliability.postgres import free_port

T = TypeVar("T")

#: Screenshots of every screen land here (ignored by git); see docs/console.md.
ARTIFACTS = Path(__file__).parent / "artifacts"

#: Chromium flags: every host name but 127.0.0.1 fails to resolve and nothing goes through a proxy,
#: so a page that needed the internet fails here as on an offline machine; no background traffic.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--no-proxy-server",
]


@dataclass
class Console:
    """The running server and what the tests sign in with."""

    base: str
    database_url: str
    owner_token: str
    auditor_token: str
    member_token: str
    member_username: str

    def graphql(self, token: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The data of a GraphQL request that must succeed."""
        response = httpx.post(
            f"{self.base}/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        body: dict[str, Any] = response.json()
        assert response.status_code == 200 and not body.get("errors"), body
        data: dict[str, Any] = body["data"]
        return data

    def has_field(self, type_name: str, field: str) -> bool:
        """Whether this server's schema has type_name.field (the insight and live screens need some)."""
        data = self.graphql(
            self.owner_token, "query($t: String!) { __type(name: $t) { fields { name } } }", {"t": type_name}
        )
        return any(f["name"] == field for f in ((data["__type"] or {}).get("fields") or []))


@pytest.fixture(scope="module")
def chromium() -> str:
    found = find_chromium()
    if found is None:
        reason = "no Chromium installed: `make test-browser` installs Debian's chromium with apt-get"
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser tests, but {reason}")
        pytest.skip(reason)
    return found


def _run(work: Coroutine[Any, Any, T]) -> T:
    """asyncio.run in a thread of its own: Playwright's sync API keeps an event loop running in this one."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, work).result()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright, chromium: str) -> Iterator[Browser]:
    # Debian's Chromium (/usr/bin/chromium): Playwright downloads no browser of its own.
    launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
    yield launched
    launched.close()


async def _create_database(server_url: str, template: str, name: str) -> None:
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
    finally:
        await admin.close()


async def _drop_database(server_url: str, name: str) -> None:
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def _tokens(database_url: str, usernames: list[str]) -> list[str]:
    engine = create_engine(database_url, Settings.from_env())
    try:
        async with engine.begin() as conn:
            secrets = []
            for username in usernames:
                user_id = await conn.exec_driver_sql("SELECT id FROM users WHERE username = $1", (username,))
                created = await create_token(conn, name="console-test", user_id=user_id.scalar_one())
                secrets.append(created.secret)
            return secrets
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def console(server_url: str, template_db: str, chromium: str) -> Iterator[Console]:
    """`spendlimits serve --demo` as `make run ARGS=--demo` starts it, on a database of its own."""
    name = f"spendlimits_console_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    _run(_create_database(server_url, template_db, name))
    database_url = with_database(server_url, name)
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "SPENDLIMITS_LOG_LEVEL": "WARNING"}
    try:
        with tempfile.TemporaryFile() as output:
            process = subprocess.Popen(  # noqa: S603 - this interpreter running this package
                [
                    sys.executable,
                    "-m",
                    "spendlimits",
                    "serve",
                    "--demo",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                ],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
            base = f"http://127.0.0.1:{port}"
            try:
                if not _healthy(base, process):
                    output.seek(0)
                    pytest.fail(f"the server did not start:\n{output.read().decode(errors='replace')}")
                output.seek(0)
                printed = output.read().decode(errors="replace")
                owner = re.search(r"Owner token \(user demo-owner\): (\S+)", printed)
                assert owner, printed
                member = _busy_member(base, owner.group(1))
                auditor_token, member_token = _run(_tokens(database_url, ["demo-auditor", member]))
                yield Console(base, database_url, owner.group(1), auditor_token, member_token, member)
            finally:
                process.terminate()
                process.wait(timeout=30)
    finally:
        _run(_drop_database(server_url, name))


def _healthy(base: str, process: "subprocess.Popen[bytes]") -> bool:
    """Polls /healthz for up to 120 s (the demo loads first), unless the server exits."""
    with httpx.Client(base_url=base, timeout=2) as http:
        for _ in range(1200):
            try:
                if http.get("/healthz").status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            try:
                process.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                continue
            return False
    return False


def _busy_member(base: str, owner_token: str) -> str:
    """A demo member (not a system account) who has spent something this period."""
    response = httpx.post(
        f"{base}/graphql",
        json={
            "query": "{ users(first: 100) { nodes { username role isSystem chatUsageLimitStatus { currentSpendMicros } } } }"
        },
        headers={"Authorization": f"Bearer {owner_token}"},
        timeout=30,
    )
    members = [
        u
        for u in response.json()["data"]["users"]["nodes"]
        if u["role"] == "MEMBER" and not u["isSystem"] and u["chatUsageLimitStatus"]["currentSpendMicros"] > 0
    ]
    assert members, "the demo has no member who spent anything this period"
    return str(max(members, key=lambda u: u["chatUsageLimitStatus"]["currentSpendMicros"])["username"])
