"""`spendlimits serve --decision-workers N`: a second listener for the daemon, at a higher priority."""

from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.auth.principal import Service
from spendlimits.directory.users import User
from tests.conftest import make_token
from tests.metrics_scrape import requests_served
from tests.reliability.postgres import free_port
from tests.reliability.service import Client, Server

CHECK = "query DecisionProbe($u: ID!) { chatUsageLimitCheck(userId: $u) { allowed failedOpen } }"
PAGE = "{ users(first: 500) { nodes { id } } }"


def niceness(pid: int) -> int:
    # Field 19 of /proc/PID/stat, counted after the command name's closing parenthesis.
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def listening_pid(port: int) -> int:
    """The process that holds the listening socket of ``port`` on 127.0.0.1."""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1].endswith(f":{port:04X}") and fields[3] == "0A":
            inode = fields[9]
    assert inode is not None, f"nothing listens on {port}"
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            links = [str(fd.readlink()) for fd in (entry / "fd").iterdir()]
        except OSError:
            continue
        if f"socket:[{inode}]" in links:
            return int(entry.name)
    raise AssertionError(f"no process holds the socket of port {port}")


async def test_the_decision_port_serves_checks_refuses_pages_and_outranks_the_reads(
    database_url: str, engine: AsyncEngine, owner: User, tmp_path: Path
) -> None:
    decision_port = free_port()
    server = Server(
        database_url=database_url,
        log=tmp_path / "serve.log",
        env={"SPENDLIMITS_DECISION_WORKERS": "1", "SPENDLIMITS_DECISION_PORT": str(decision_port)},
    )
    chatd, owner_token = await make_token(engine, service=Service.CHATD), await make_token(engine, owner)
    try:
        await server.start()
        decisions = Server(database_url=database_url, log=server.log, port=decision_port)
        await decisions.wait_healthy(within=60)
        async with (
            httpx.AsyncClient(base_url=decisions.url, timeout=15) as to_decisions,
            httpx.AsyncClient(base_url=server.url, timeout=15) as to_main,
        ):
            check = await Client(to_decisions, chatd).data(CHECK, {"u": str(owner.id)})
            assert check["chatUsageLimitCheck"] == {"allowed": True, "failedOpen": False}
            # A page is refused on the decision port (its own, tight cost limit) ...
            refused = (await Client(to_decisions, owner_token).post(PAGE)).json()
            assert refused["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
            assert "over the limit of 100" in refused["errors"][0]["message"]
            # ... and served on the main one.
            assert (await Client(to_main, owner_token).data(PAGE))["users"]["nodes"]
            # The main port's /metrics counts the decision processes' requests too.
            scrape = await to_main.get("/metrics", headers={"Authorization": f"Bearer {owner_token}"})
            assert scrape.status_code == 200, scrape.text
            assert requests_served(scrape.text, "DecisionProbe") == 1
        main_pid, decision_pid = listening_pid(server.port), listening_pid(decision_port)
        assert main_pid != decision_pid
        # The reads run at a lower CPU priority (a higher niceness) than the decisions.
        assert niceness(main_pid) == min(niceness(decision_pid) + 19, 19) > niceness(decision_pid)
    finally:
        server.stop()
    # Stopping `serve` stops the decision listener too.
    async with httpx.AsyncClient(timeout=2) as http:
        try:
            await http.get(f"http://127.0.0.1:{decision_port}/healthz")
        except httpx.TransportError:
            pass
        else:
            raise AssertionError("the decision listener outlived `spendlimits serve`")
