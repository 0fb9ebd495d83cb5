"""`spendlimits serve` in a subprocess of its own, as an operator runs it, and helpers to drive it."""

import asyncio
import base64
import hashlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.auth.principal import Role, Service
from spendlimits.db.engine import create_engine
from spendlimits.settings import Settings
from tests.conftest import make_token, make_user
from tests.reliability.leaks import assert_no_leak as assert_no_leak  # where the suite imports it from
from tests.reliability.postgres import free_port

#: Every request of these tests gives up after this long: a hang fails the test instead of the run.
CLIENT_TIMEOUT = httpx.Timeout(15.0)


@dataclass
class Server:
    """One `spendlimits serve` process; its stdout and stderr go to ``log``."""

    database_url: str
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: "subprocess.Popen[bytes] | None" = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self) -> None:
        """Starts the process (again, on the same port, after a stop or a crash) and waits for /healthz."""
        self.spawn()
        await self.wait_healthy(within=60)

    def spawn(self) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "SPENDLIMITS_LOG_LEVEL": "INFO",
            "SPENDLIMITS_DB_POOL_SIZE": "5",
            "SPENDLIMITS_DB_POOL_MAX_OVERFLOW": "5",
            **self.env,
        }
        command = [
            sys.executable,
            "-m",
            "spendlimits",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        # Appending keeps the log of an earlier run of the same server (before a crash) readable.
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(  # noqa: S603 - this interpreter running this package
                command, env=env, stdout=output, stderr=subprocess.STDOUT
            )

    async def wait_healthy(self, within: float) -> float:
        """Polls /healthz until it answers 200; returns how long that took. Fails when the process dies."""
        started = time.monotonic()
        async with httpx.AsyncClient(base_url=self.url, timeout=2.0) as http:
            while time.monotonic() - started < within:
                if self.process is not None and self.process.poll() is not None:
                    raise AssertionError(f"the server exited:\n{self.log_text()}")
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        return time.monotonic() - started
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
        raise AssertionError(f"/healthz did not answer 200 within {within} s:\n{self.log_text()[-4000:]}")

    def kill(self) -> None:
        """kill -9: no shutdown handler runs, in-flight requests are cut off."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)

    def rss_bytes(self) -> int:
        """Resident memory of the server process, from /proc."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS line")

    def cpu_seconds(self) -> float:
        """User plus system CPU time the server process has used, from /proc."""
        # The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        utime, stime = int(fields[11]), int(fields[12])
        return (utime + stime) / os.sysconf("SC_CLK_TCK")

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class Client:
    """GraphQL over real HTTP as one token."""

    def __init__(self, http: httpx.AsyncClient, token: str | None) -> None:
        self.http = http
        self.token = token

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def post(self, query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
        return await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=self.headers()
        )

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The data of a 200 response without errors."""
        response = await self.post(query, variables)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert not body.get("errors"), body["errors"]
        data: dict[str, Any] = body["data"]
        return data


@dataclass(frozen=True)
class Seed:
    owner_id: str
    owner_token: str
    chatd_token: str
    member_id: str
    member_token: str
    #: A valid token that no request has used yet.
    unused_token: str

    @property
    def secrets(self) -> list[str]:
        return [self.owner_token, self.chatd_token, self.member_token, self.unused_token]


@dataclass(frozen=True)
class Live:
    """A running server and its seeded users, shared by a module's tests (the ``live`` fixture)."""

    server: Server
    seeded: Seed


async def seed(database_url: str) -> Seed:
    """An owner, a member and a chat daemon, each with a token, written straight to the database."""
    engine: AsyncEngine = create_engine(database_url, Settings.from_env())
    try:
        owner = await make_user(engine, Role.OWNER, username="owner")
        member = await make_user(engine, Role.MEMBER, username="member")
        return Seed(
            owner_id=str(owner.id),
            owner_token=await make_token(engine, owner),
            chatd_token=await make_token(engine, service=Service.CHATD),
            member_id=str(member.id),
            member_token=await make_token(engine, member),
            unused_token=await make_token(engine, owner),
        )
    finally:
        await engine.dispose()


def secret_forms(secret: str) -> list[str]:
    """The secret and the ways its stored hash could be printed."""
    digest = hashlib.sha256(secret.encode()).digest()
    return [secret, digest.hex(), repr(digest)[2:-1], base64.b64encode(digest).decode()]


def assert_no_secret_logged(log: str, secrets: list[str]) -> None:
    for secret in secrets:
        for form in secret_forms(secret):
            assert form not in log, f"a token ({form[:12]}...) appears in the server's log"


ENABLE_LIMITS = """
mutation Enable {
  updateChatUsageLimitConfig(input: {spendLimitMicros: 1000000000000, period: MONTH}) { errors { code } }
}
"""
CREATE_ORGANIZATION = """
mutation Org($name: String!) {
  createOrganization(input: {name: $name}) { organization { id } errors { code } }
}
"""
ADD_MEMBER = """
mutation Join($organizationId: ID!, $userId: ID!) {
  addOrganizationMember(input: {organizationId: $organizationId, userId: $userId}) { errors { code } }
}
"""
CREATE_CHAT = """
mutation Chat($ownerId: ID!, $organizationId: ID!) {
  createChat(input: {ownerId: $ownerId, organizationId: $organizationId}) { chat { id } errors { code } }
}
"""
RECORD = """
mutation Record($input: RecordChatMessageInput!) {
  recordChatMessage(input: $input) { message { id totalCostMicros } replayed errors { code } }
}
"""


async def chats_of(owner: Client, user_id: str, count: int, organization: str = "acme") -> list[str]:
    """``count`` chats owned by ``user_id``, in a new organization it joins; limits switched on."""
    assert (await owner.data(ENABLE_LIMITS))["updateChatUsageLimitConfig"]["errors"] == []
    created = (await owner.data(CREATE_ORGANIZATION, {"name": organization}))["createOrganization"]
    assert created["errors"] == []
    organization_id = created["organization"]["id"]
    joined = await owner.data(ADD_MEMBER, {"organizationId": organization_id, "userId": user_id})
    assert joined["addOrganizationMember"]["errors"] == []
    chats = []
    for _ in range(count):
        chat = (await owner.data(CREATE_CHAT, {"ownerId": user_id, "organizationId": organization_id}))[
            "createChat"
        ]
        assert chat["errors"] == []
        chats.append(chat["chat"]["id"])
    return chats
