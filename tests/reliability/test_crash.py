"""kill -9 of the server in the middle of a stream of recordChatMessage calls, then a full resend.

The daemon's contract (spec section 7): a message it saw acknowledged is recorded; a message it
never saw acknowledged may or may not be; resending everything with the same idempotency keys
fixes both cases without counting anything twice. So after the resend every message exists exactly
once, the acknowledged ones under the id first returned, and spend (the rollup the check reads)
equals the raw sum of the costs sent.
"""

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncpg
import httpx
import pytest

from tests.reliability.postgres import Postgres
from tests.reliability.service import (
    CLIENT_TIMEOUT,
    RECORD,
    Client,
    Server,
    assert_no_secret_logged,
    chats_of,
    seed,
)

pytestmark = pytest.mark.reliability

SENDERS = 4
MESSAGES_PER_SENDER = 60
#: The server is killed once this many messages were acknowledged, with the senders still going.
KILL_AFTER = 80
#: Fixed, so the spend lands in a known period whatever the day the test runs.
CREATED_AT = "2025-06-15T12:00:00Z"

STATUS = """
query Spend($id: ID!, $at: DateTime!) { user(id: $id) { chatUsageLimitStatus(at: $at) { currentSpendMicros } } }
"""


@dataclass(frozen=True)
class Message:
    chat_id: str
    key: str
    cost: int

    def variables(self) -> dict[str, object]:
        return {
            "input": {
                "chatId": self.chat_id,
                "role": "ASSISTANT",
                "totalCostMicros": self.cost,
                "createdAt": CREATED_AT,
                "idempotencyKey": self.key,
            }
        }


@dataclass
class Ledger:
    """What the senders saw: acknowledged message ids by key, and the keys that got no answer."""

    acknowledged: dict[str, str] = field(default_factory=dict)
    unanswered: set[str] = field(default_factory=set)
    enough: asyncio.Event = field(default_factory=asyncio.Event)


async def send(client: Client, message: Message) -> tuple[str, bool]:
    """Sends one message; returns (message id, replayed). Raises httpx.TransportError when cut off."""
    response = await client.post(RECORD, message.variables())
    assert response.status_code == 200, response.text
    body = response.json()
    assert not body.get("errors"), body
    payload = body["data"]["recordChatMessage"]
    assert payload["errors"] == [], payload
    assert payload["message"]["totalCostMicros"] == message.cost
    return payload["message"]["id"], payload["replayed"]


async def sender_until_cut_off(client: Client, messages: list[Message], ledger: Ledger) -> None:
    for message in messages:
        try:
            message_id, replayed = await send(client, message)
        except httpx.TransportError:
            # Cut off by the kill: this message and every later one were never acknowledged.
            ledger.unanswered.add(message.key)
            return
        assert not replayed
        ledger.acknowledged[message.key] = message_id
        if len(ledger.acknowledged) >= KILL_AFTER:
            ledger.enough.set()


async def test_after_a_kill_9_mid_stream_a_full_resend_records_every_message_exactly_once(
    postgres: Postgres, make_server: Callable[..., Server], record_property: Callable[[str, object], None]
) -> None:
    server = make_server(postgres.url)
    await server.start()
    seeded = await seed(postgres.url)
    rng = random.Random(7)
    async with httpx.AsyncClient(base_url=server.url, timeout=CLIENT_TIMEOUT) as http:
        owner = Client(http, seeded.owner_token)
        chats = await chats_of(owner, seeded.member_id, 2)
        streams = [
            [
                Message(chat_id=chats[s % 2], key=f"sender{s}-msg{i}", cost=rng.randint(1, 1_000_000))
                for i in range(MESSAGES_PER_SENDER)
            ]
            for s in range(SENDERS)
        ]

    ledger = Ledger()
    # A connection per sender, as separate daemon processes would have.
    clients = [httpx.AsyncClient(base_url=server.url, timeout=CLIENT_TIMEOUT) for _ in range(SENDERS)]
    try:
        senders = [
            asyncio.create_task(sender_until_cut_off(Client(c, seeded.chatd_token), stream, ledger))
            for c, stream in zip(clients, streams, strict=True)
        ]
        await asyncio.wait_for(ledger.enough.wait(), timeout=60)
        server.kill()
        await asyncio.wait_for(asyncio.gather(*senders), timeout=60)
    finally:
        for c in clients:
            await c.aclose()
    acknowledged_before = dict(ledger.acknowledged)
    assert len(acknowledged_before) < SENDERS * MESSAGES_PER_SENDER, "the kill came after the stream ended"

    await server.start()
    replayed_unanswered = 0
    async with httpx.AsyncClient(base_url=server.url, timeout=CLIENT_TIMEOUT) as http:
        chatd = Client(http, seeded.chatd_token)

        async def resend(stream: list[Message]) -> None:
            nonlocal replayed_unanswered
            for message in stream:
                message_id, replayed = await send(chatd, message)
                if message.key in acknowledged_before:
                    assert replayed and message_id == acknowledged_before[message.key]
                elif replayed:
                    # Committed before the kill, but its answer never left the server.
                    replayed_unanswered += 1

        await asyncio.gather(*(resend(stream) for stream in streams))
        spend = await Client(http, seeded.owner_token).data(
            STATUS, {"id": seeded.member_id, "at": CREATED_AT}
        )

    every = [m for stream in streams for m in stream]
    expected_total = sum(m.cost for m in every)
    conn = await asyncpg.connect(postgres.url)
    try:
        rows = await conn.fetch(
            "SELECT idempotency_key, count(*) AS n, sum(total_cost_micros) AS cost FROM chat_messages GROUP BY 1"
        )
        raw_total = await conn.fetchval("SELECT sum(total_cost_micros) FROM chat_messages")
        rollup_total = await conn.fetchval(
            "SELECT sum(spend_micros) FROM chat_spend_daily WHERE user_id = $1::uuid", seeded.member_id
        )
        # The restarted server's folder moves into the rollup what every writer wrote, the killed
        # server's included (docs/spend-journal.md): nothing waits for the process that wrote it.
        started = time.monotonic()
        for _ in range(200):  # the folder runs every 200 ms: 10 s is fifty folds
            if not await conn.fetchval("SELECT count(*) FROM chat_spend_unfolded"):
                break
            await asyncio.sleep(0.05)
        folded_after = time.monotonic() - started
        folded_total = await conn.fetchval(
            "SELECT sum(spend_micros) FROM chat_spend_daily_folded WHERE user_id = $1::uuid", seeded.member_id
        )
        left_unfolded = await conn.fetchval("SELECT count(*) FROM chat_spend_unfolded")
    finally:
        await conn.close()

    assert {r["idempotency_key"]: r["n"] for r in rows} == {m.key: 1 for m in every}
    assert {r["idempotency_key"]: r["cost"] for r in rows} == {m.key: m.cost for m in every}
    assert raw_total == rollup_total == expected_total
    assert left_unfolded == 0 and folded_total == expected_total
    assert spend["user"]["chatUsageLimitStatus"]["currentSpendMicros"] == expected_total
    assert_no_secret_logged(server.log_text(), seeded.secrets)
    figures = {
        "acknowledged_before_kill": len(acknowledged_before),
        "cut_off_in_flight": len(ledger.unanswered),
        "committed_but_unacknowledged": replayed_unanswered,
        "messages": len(every),
        "journal_folded_within_s": round(folded_after, 2),
    }
    record_property("figures", figures)
