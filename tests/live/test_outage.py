"""A database outage while subscribed: the connection stays, and once PostgreSQL is back the
listener reconnects and changes reach the subscriber again (the reliability suite's PostgreSQL of
its own, stopped and started)."""

import asyncio
import time

import httpx
import pytest

from tests.live.wsclient import subscribed
from tests.reliability.conftest import make_server, postgres
from tests.reliability.postgres import Postgres
from tests.reliability.service import CLIENT_TIMEOUT, RECORD, Client, Server, chats_of, seed

pytestmark = pytest.mark.reliability
__all__ = ["make_server", "postgres"]

RECOVERY_BOUND_S = 15.0


async def test_subscribers_survive_a_database_restart(postgres: Postgres, make_server: object) -> None:
    server: Server = make_server(postgres.url)  # type: ignore[operator]
    await server.start()
    seeded = await seed(postgres.url)
    async with httpx.AsyncClient(base_url=server.url, timeout=CLIENT_TIMEOUT) as http:
        (chat,) = await chats_of(Client(http, seeded.owner_token), seeded.member_id, 1)
        async with subscribed(server.url, seeded.member_token) as (client, first):
            assert first["currentSpendMicros"] == 0
            await asyncio.to_thread(postgres.stop)
            await asyncio.sleep(1)
            await asyncio.to_thread(postgres.start)
            chatd = Client(http, seeded.chatd_token)
            deadline = time.monotonic() + RECOVERY_BOUND_S
            while True:
                response = await chatd.post(
                    RECORD, {"input": {"chatId": chat, "role": "ASSISTANT", "totalCostMicros": 300}}
                )
                body = response.json()
                if response.status_code == 200 and not body.get("errors"):
                    break
                assert time.monotonic() < deadline, body
                await asyncio.sleep(0.2)
            status = await client.next_status(within=RECOVERY_BOUND_S)
            assert status["currentSpendMicros"] == 300
    assert "reconnected" in server.log_text()
