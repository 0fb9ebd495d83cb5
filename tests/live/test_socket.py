"""The subscription over a real WebSocket: authentication, scoping, bounds, pings, shutdown."""

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.auth.tokens import create_token
from spendlimits.limits.periods import Period
from tests.limits.factories import LimitFactory
from tests.live.wsclient import subscribed

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
    token = await token_for(engine, user)
    server = await serve()
    async with subscribed(server.url, token) as (client, first):
        assert first["isLimited"] is True
        assert first["currentSpendMicros"] == 0
        assert first["spendLimitMicros"] == LIMIT
        await record(engine, chat, 700)
        changed = await client.next_status(within=2)
        assert changed["currentSpendMicros"] == 700
        assert changed["remainingMicros"] == LIMIT - 700


async def token_for(engine: AsyncEngine, user_id: uuid.UUID) -> str:
    async with engine.begin() as conn:
        return (await create_token(conn, name="live", user_id=user_id)).secret
