"""Database outages while the service runs: PostgreSQL stopped, frozen, restarted.

What a user must see (spec sections 5 and 8): /healthz says 503; the daemon's admission check still
answers within SPENDLIMITS_CHECK_TIMEOUT_MS plus a margin, failing open or closed per the
configured mode, with the recently verified token still accepted; a token never seen gets 503, not
401 or 500; nothing hangs. Once PostgreSQL is back, the same process serves normally again.
"""

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.reliability.postgres import Postgres
from tests.reliability.service import (
    CLIENT_TIMEOUT,
    Client,
    Seed,
    Server,
    assert_no_leak,
    assert_no_secret_logged,
    seed,
)

pytestmark = pytest.mark.reliability

CHECK_TIMEOUT_MS = 1000
#: The margin for HTTP, the event loop and a busy machine.
MARGIN_S = 1.0
#: /healthz's probe has one deadline; a check has one too, shared by its token's verification and
#: the decision itself.
ONE_DEADLINE_S = CHECK_TIMEOUT_MS / 1000 + MARGIN_S
ANSWER_BOUND_S = ONE_DEADLINE_S
#: After PostgreSQL is back, the service must be fully working again within this long.
RECOVERY_BOUND_S = 10.0

CHECK = """
query Check($userId: ID!) {
  chatUsageLimitCheck(userId: $userId) {
    allowed failedOpen failedClosed status { currentSpendMicros } exceeded { message }
  }
}
"""
CONFIGURE = """
mutation Configure($mode: EnforcementMode!) {
  updateChatUsageLimitConfig(input: {spendLimitMicros: 100000000, period: MONTH, enforcementMode: $mode}) {
    config { enforcementMode } errors { code }
  }
}
"""
MY_STATUS = "query Mine { myChatUsageLimitStatus { currentSpendMicros } }"


async def timed(call: Any) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await call
    return response, time.monotonic() - started


async def healthz_status(http: httpx.AsyncClient) -> tuple[int, float]:
    response, elapsed = await timed(http.get("/healthz"))
    return response.status_code, elapsed


async def check(client: Client, user_id: str) -> tuple[dict[str, Any], float]:
    response, elapsed = await timed(client.post(CHECK, {"userId": user_id}))
    assert response.status_code == 200, response.text
    assert_no_leak(response.text)
    body = response.json()
    assert not body.get("errors"), body
    result: dict[str, Any] = body["data"]["chatUsageLimitCheck"]
    return result, elapsed


async def start_service(postgres: Postgres, make_server: Callable[..., Server]) -> tuple[Server, Seed]:
    server = make_server(
        postgres.url,
        SPENDLIMITS_CHECK_TIMEOUT_MS=str(CHECK_TIMEOUT_MS),
        SPENDLIMITS_STATEMENT_TIMEOUT_MS="2000",
        SPENDLIMITS_LOG_LEVEL="DEBUG",
    )
    await server.start()
    return server, await seed(postgres.url)


async def configure(http: httpx.AsyncClient, seeded: Seed, mode: str) -> None:
    configured = await Client(http, seeded.owner_token).data(CONFIGURE, {"mode": mode})
    assert configured["updateChatUsageLimitConfig"] == {"config": {"enforcementMode": mode}, "errors": []}


async def assert_recovered(http: httpx.AsyncClient, seeded: Seed) -> float:
    """Polls until healthz, token checks and the admission check all work; returns how long it took."""
    started = time.monotonic()
    chatd = Client(http, seeded.chatd_token)
    while True:
        status, _ = await healthz_status(http)
        if status == 200:
            result, _ = await check(chatd, seeded.member_id)
            if result["failedOpen"] is False and result["failedClosed"] is False:
                assert result == {
                    "allowed": True,
                    "failedOpen": False,
                    "failedClosed": False,
                    "status": {"currentSpendMicros": 0},
                    "exceeded": None,
                }
                # A token the outage never saw is verified against the database again.
                fresh = await Client(http, seeded.unused_token).data(MY_STATUS)
                assert fresh == {"myChatUsageLimitStatus": {"currentSpendMicros": 0}}
                return time.monotonic() - started
        assert time.monotonic() - started < RECOVERY_BOUND_S, "the service did not recover"
        await asyncio.sleep(0.1)


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("FAIL_OPEN", {"allowed": True, "failedOpen": True, "failedClosed": False}),
        ("FAIL_CLOSED", {"allowed": False, "failedOpen": False, "failedClosed": True}),
    ],
)
async def test_a_stopped_database_fails_the_check_per_mode_and_the_service_recovers_without_a_restart(
    postgres: Postgres,
    make_server: Callable[..., Server],
    mode: str,
    expected: dict[str, bool],
    record_property: Callable[[str, object], None],
) -> None:
    server, seeded = await start_service(postgres, make_server)
    async with httpx.AsyncClient(base_url=server.url, timeout=CLIENT_TIMEOUT) as http:
        await configure(http, seeded, mode)
        chatd = Client(http, seeded.chatd_token)
        # Used once before the outage, so the process has verified the token and read the mode.
        before, _ = await check(chatd, seeded.member_id)
        assert before["allowed"] is True and before["failedOpen"] is False

        await asyncio.to_thread(postgres.stop)

        status, health_s = await healthz_status(http)
        assert status == 503
        assert health_s < ONE_DEADLINE_S

        during, check_s = await check(chatd, seeded.member_id)
        assert during == {**expected, "status": None, "exceeded": None}
        assert check_s < ANSWER_BOUND_S

        # A token verified in the last minute is still accepted; one never seen cannot be
        # verified, which is 503 (try again), not 401 (the token is fine) nor 500.
        unseen = await Client(http, seeded.unused_token).post(MY_STATUS)
        assert unseen.status_code == 503
        assert unseen.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        assert_no_leak(unseen.text)
        # The owner's token is accepted too; a read that needs the database is an error with a
        # retryable code, never a 500 or a trace.
        owner_read = await Client(http, seeded.owner_token).post(MY_STATUS)
        assert owner_read.status_code == 200, owner_read.text
        assert_no_leak(owner_read.text)
        assert owner_read.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"

        await asyncio.to_thread(postgres.start)
        recovery_s = await assert_recovered(http, seeded)

    assert server.process is not None and server.process.poll() is None, "the service restarted"
    assert_no_secret_logged(server.log_text(), seeded.secrets)
    record_property(
        "figures",
        {"healthz_s": round(health_s, 3), "check_s": round(check_s, 3), "recovery_s": round(recovery_s, 3)},
    )


async def test_a_database_restarted_between_requests_costs_no_failed_request(
    postgres: Postgres, make_server: Callable[..., Server]
) -> None:
    server, seeded = await start_service(postgres, make_server)
    async with httpx.AsyncClient(base_url=server.url, timeout=CLIENT_TIMEOUT) as http:
        chatd = Client(http, seeded.chatd_token)
        # Several connections in the pool, every one of which the restarts below break.
        results = await asyncio.gather(*(check(chatd, seeded.member_id) for _ in range(5)))
        assert all(r["failedOpen"] is False for r, _ in results)

        await asyncio.to_thread(postgres.stop)
        await asyncio.to_thread(postgres.start)
        first_check, _ = await check(chatd, seeded.member_id)
        assert first_check["failedOpen"] is False and first_check["status"] is not None

        await asyncio.to_thread(postgres.stop)
        await asyncio.to_thread(postgres.start)
        status, _ = await healthz_status(http)
        assert status == 200
        unseen = await Client(http, seeded.unused_token).post(MY_STATUS)
        assert unseen.status_code == 200, unseen.text


async def test_a_hung_database_fails_the_check_open_within_its_timeout_and_nothing_hangs(
    postgres: Postgres, make_server: Callable[..., Server], record_property: Callable[[str, object], None]
) -> None:
    server, seeded = await start_service(postgres, make_server)
    async with httpx.AsyncClient(base_url=server.url, timeout=CLIENT_TIMEOUT) as http:
        chatd = Client(http, seeded.chatd_token)
        await check(chatd, seeded.member_id)
        status, _ = await healthz_status(http)
        assert status == 200

        # Frozen, PostgreSQL keeps its sockets open and answers nothing: no error ever comes, only
        # the service's own deadlines end the wait. Pooled connections are the ones that hung.
        await asyncio.to_thread(postgres.freeze)
        try:
            status, health_s = await healthz_status(http)
            during, check_s = await check(chatd, seeded.member_id)
            unseen, unseen_s = await timed(Client(http, seeded.unused_token).post(MY_STATUS))
        finally:
            await asyncio.to_thread(postgres.thaw)
        recovery_s = await assert_recovered(http, seeded)

    assert status == 503
    assert health_s < ONE_DEADLINE_S
    assert during == {
        "allowed": True,
        "failedOpen": True,
        "failedClosed": False,
        "status": None,
        "exceeded": None,
    }
    assert check_s < ANSWER_BOUND_S
    assert unseen.status_code == 503
    assert unseen_s < ONE_DEADLINE_S
    record_property(
        "figures",
        {"healthz_s": round(health_s, 3), "check_s": round(check_s, 3), "recovery_s": round(recovery_s, 3)},
    )
