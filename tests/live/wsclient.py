"""A graphql-transport-ws client over a real WebSocket (the `websockets` package), for the tests."""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

PROTOCOL = "graphql-transport-ws"

SUBSCRIBE = """
subscription Live($organizationId: ID) {
  myChatUsageLimitStatus(organizationId: $organizationId) {
    isLimited limitSource spendLimitMicros currentSpendMicros heldMicros remainingMicros exceeded
    periodStart periodEnd
  }
}
"""


def ws_url(http_url: str) -> str:
    return http_url.replace("http://", "ws://", 1) + "/graphql"


class LiveClient:
    """One connection; answers the server's pings unless told not to."""

    def __init__(self, ws: ClientConnection, answer_pings: bool = True) -> None:
        self.ws = ws
        self.answer_pings = answer_pings

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def receive(self, within: float = 5.0) -> dict[str, Any]:
        """The next message other than a ping, within one deadline however many pings come."""
        async with asyncio.timeout(within):
            while True:
                message: dict[str, Any] = json.loads(await self.ws.recv())
                if message["type"] != "ping":
                    return message
                if self.answer_pings:
                    await self.send({"type": "pong"})

    async def init(self, token: str | None) -> dict[str, Any]:
        payload = {"Authorization": f"Bearer {token}"} if token else {}
        await self.send({"type": "connection_init", "payload": payload})
        return await self.receive()

    async def subscribe(
        self, operation_id: str = "1", organization_id: str | None = None, query: str = SUBSCRIBE
    ) -> None:
        await self.send(
            {
                "id": operation_id,
                "type": "subscribe",
                "payload": {"query": query, "variables": {"organizationId": organization_id}},
            }
        )

    async def next_status(self, within: float = 5.0) -> dict[str, Any]:
        """The status of the next "next" message; fails on anything else."""
        message = await self.receive(within)
        assert message["type"] == "next", message
        assert "errors" not in message["payload"], message
        status: dict[str, Any] = message["payload"]["data"]["myChatUsageLimitStatus"]
        return status

    async def closed_with(self, within: float = 5.0) -> tuple[int | None, list[dict[str, Any]]]:
        """Reads until the server closes; the close code and what came before it."""
        seen = []
        try:
            while True:
                seen.append(await self.receive(within))
        except ConnectionClosed as closed:
            return (closed.rcvd.code if closed.rcvd else None), seen


@asynccontextmanager
async def live_client(http_url: str, answer_pings: bool = True) -> AsyncIterator[LiveClient]:
    async with connect(ws_url(http_url), subprotocols=[PROTOCOL], open_timeout=10) as ws:  # type: ignore[list-item]
        yield LiveClient(ws, answer_pings)


@asynccontextmanager
async def subscribed(
    http_url: str, token: str, organization_id: str | None = None
) -> AsyncIterator[tuple[LiveClient, dict[str, Any]]]:
    """A connection with one subscription, and its first status."""
    async with live_client(http_url) as client:
        assert (await client.init(token))["type"] == "connection_ack"
        await client.subscribe(organization_id=organization_id)
        yield client, await client.next_status()
