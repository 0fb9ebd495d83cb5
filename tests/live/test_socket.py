"""The subscription over a real WebSocket: authentication, scoping, bounds, pings, shutdown."""

import asyncio
import json
import uuid
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.auth.principal import Service
from spendlimits.auth.tokens import create_token
from spendlimits.limits.periods import Period
from tests.conftest import make_token
from tests.limits.factories import LimitFactory
from tests.live.wsclient import live_client, subscribed

LIMIT = 1_000_000


async def record(engine: AsyncEngine, chat: Any, cost: int) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO chat_messages (chat_id, role, total_cost_micros) VALUES (:c, 'assistant', :m)"),
            {"c": chat, "m": cost},
        )


async def test_first_status_then_each_change(engine: AsyncEngine, serve: Any) -> None:
    make = LimitFactory(engine)
    await make.enable(LIMIT, Period.MONTH)
    org = await make.organization("acme")
    user = await make.user("alice", organizations=(org,))
    chat = await make.chat(user, org)
    server = await serve()
    async with subscribed(server.url, await token_for(engine, user)) as (client, first):
        assert first["isLimited"] is True
        assert first["currentSpendMicros"] == 0
        assert first["spendLimitMicros"] == LIMIT
        await record(engine, chat, 700)
        changed = await client.next_status(within=2)
        assert changed["currentSpendMicros"] == 700
        assert changed["remainingMicros"] == LIMIT - 700


async def limited_user(engine: AsyncEngine, name: str = "alice") -> tuple[uuid.UUID, uuid.UUID, str]:
    """Limits on, a user in an organization with a chat: (user, chat, the user's token)."""
    make = LimitFactory(engine)
    await make.enable(LIMIT, Period.MONTH)
    org = await make.organization(f"org-{name}")
    user = await make.user(name, organizations=(org,))
    return user, await make.chat(user, org), await token_for(engine, user)


async def test_a_bad_token_is_closed_with_4403_and_nothing_sent(engine: AsyncEngine, serve: Any) -> None:
    server = await serve()
    for token in ("sl_not-a-real-token", None):
        async with live_client(server.url) as client:
            payload = {"Authorization": f"Bearer {token}"} if token else {}
            await client.send({"type": "connection_init", "payload": payload})
            code, seen = await client.closed_with()
            assert (code, seen) == (4403, [])


async def test_a_revoked_token_is_refused(engine: AsyncEngine, serve: Any) -> None:
    _, _, token = await limited_user(engine)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE api_tokens SET revoked_at = now()"))
    server = await serve()
    async with live_client(server.url) as client:
        await client.send({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        assert await client.closed_with() == (4403, [])


async def test_revoking_the_token_ends_the_subscription(engine: AsyncEngine, serve: Any) -> None:
    _, _, token = await limited_user(engine)
    server = await serve(reverify_ms=200)
    async with subscribed(server.url, token) as (client, _):
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE api_tokens SET revoked_at = now()"))
        started = asyncio.get_running_loop().time()
        code, _ = await client.closed_with(within=3)
        assert code == 4403
        # Bounded by the re-verification interval (0.2 s), with room for a loaded machine.
        assert asyncio.get_running_loop().time() - started < 2.5


async def test_a_member_gets_only_their_own_status(engine: AsyncEngine, serve: Any) -> None:
    _, alice_chat, alice_token = await limited_user(engine, "alice")
    _, bob_chat, _ = await limited_user(engine, "bob")
    server = await serve(min_interval_ms=0)
    async with subscribed(server.url, alice_token) as (client, first):
        assert first["currentSpendMicros"] == 0
        await record(engine, bob_chat, 999)
        await record(engine, alice_chat, 5)
        # Bob's spend never shows: the next event is Alice's own.
        assert (await client.next_status(within=2))["currentSpendMicros"] == 5


async def test_a_service_token_has_no_status(engine: AsyncEngine, serve: Any) -> None:
    server = await serve()
    async with live_client(server.url) as client:
        assert (await client.init(await make_token(engine, service=Service.CHATD)))[
            "type"
        ] == "connection_ack"
        await client.subscribe()
        message = await client.receive()
        assert message["type"] == "next"
        assert message["payload"]["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_organization_scopes_a_group_limit_and_its_spend(engine: AsyncEngine, serve: Any) -> None:
    make = LimitFactory(engine)
    await make.enable(LIMIT, Period.MONTH)
    org, other = await make.organization("acme"), await make.organization("other")
    user = await make.user("carol", organizations=(org, other))
    await make.limited_group(org, "team", 500_000, members=(user,))
    await make.spend(user, org, 100)
    await make.spend(user, other, 50)
    token = await token_for(engine, user)
    server = await serve()
    async with subscribed(server.url, token, organization_id=str(org)) as (_, scoped):
        assert (scoped["limitSource"], scoped["spendLimitMicros"], scoped["currentSpendMicros"]) == (
            "GROUP",
            500_000,
            100,
        )
    async with subscribed(server.url, token) as (_, everywhere):
        assert (everywhere["limitSource"], everywhere["currentSpendMicros"]) == ("GROUP", 150)


async def test_changes_in_a_burst_are_coalesced_and_the_last_is_sent(engine: AsyncEngine, serve: Any) -> None:
    _, chat, token = await limited_user(engine)
    server = await serve(min_interval_ms=300)
    async with subscribed(server.url, token) as (client, _):
        for _ in range(20):
            await record(engine, chat, 10)
        events = []
        while not events or events[-1]["currentSpendMicros"] < 200:
            events.append(await client.next_status(within=3))
        # 20 commits, each notified; at one read per 0.3 s at most a handful of events.
        assert len(events) <= 5, [e["currentSpendMicros"] for e in events]
        assert [e["currentSpendMicros"] for e in events] == sorted(e["currentSpendMicros"] for e in events)


async def test_subscriptions_per_connection_are_bounded(engine: AsyncEngine, serve: Any) -> None:
    _, _, token = await limited_user(engine)
    server = await serve(max_subscriptions_per_connection=2)
    async with live_client(server.url) as client:
        await client.init(token)
        for operation_id in ("1", "2"):
            await client.subscribe(operation_id)
            assert (await client.receive())["type"] == "next"
        await client.subscribe("3")
        refused = await client.receive()
        assert (refused["id"], refused["type"]) == ("3", "error")
        assert "limit" in refused["payload"][0]["message"]


async def test_connections_per_token_are_bounded(engine: AsyncEngine, serve: Any) -> None:
    _, _, token = await limited_user(engine)
    server = await serve(max_connections_per_token=1)
    async with live_client(server.url) as first:
        assert (await first.init(token))["type"] == "connection_ack"
        async with live_client(server.url) as second:
            await second.send({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
            assert await second.closed_with() == (4429, [])
    # The first connection's slot is free again once it closed.
    async with live_client(server.url) as third:
        assert (await third.init(token))["type"] == "connection_ack"


async def test_idle_connections_are_pinged_and_silent_ones_closed(engine: AsyncEngine, serve: Any) -> None:
    _, _, token = await limited_user(engine)
    server = await serve(ping_ms=200)
    async with live_client(server.url, answer_pings=False) as silent, live_client(server.url) as alive:
        await silent.init(token)
        await alive.init(token)

        async def quiet_while_answering_pings() -> None:
            with pytest.raises(TimeoutError):
                await alive.receive(within=1.2)

        answering = asyncio.create_task(quiet_while_answering_pings())
        ping = json.loads(await asyncio.wait_for(silent.ws.recv(), 2))
        assert ping == {"type": "ping"}
        code, _ = await silent.closed_with(within=2)
        assert code == 4408
        await answering
        # The one that answered is still open after several pings.
        await alive.subscribe()
        assert (await alive.next_status())["isLimited"] is True


async def test_queries_go_over_http_not_the_socket(engine: AsyncEngine, serve: Any) -> None:
    _, _, token = await limited_user(engine)
    server = await serve()
    async with live_client(server.url) as client:
        await client.init(token)
        await client.subscribe(query="query { myChatUsageLimitStatus { currentSpendMicros } }")
        refused = await client.receive()
        assert refused["type"] == "error"
        assert "over HTTP" in refused["payload"][0]["message"]


async def test_server_shutdown_closes_open_subscriptions(engine: AsyncEngine, serve: Any) -> None:
    _, _, token = await limited_user(engine)
    server = await serve()
    async with subscribed(server.url, token) as (client, _):
        server.server.should_exit = True
        code, _ = await client.closed_with(within=10)
        # 1012: service restart; graphql-ws clients reconnect (to another process) on it.
        assert code == 1012


async def token_for(engine: AsyncEngine, user_id: uuid.UUID) -> str:
    async with engine.begin() as conn:
        return (await create_token(conn, name="live", user_id=user_id)).secret
