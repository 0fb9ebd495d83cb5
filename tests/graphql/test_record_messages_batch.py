"""recordChatMessages over HTTP: per-message outcomes in order, idempotency, a constant number of
statements per batch; and createdAt held to the server clock in the API and the importer."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits import metrics
from tests.conftest import GraphQLClient
from tests.graphql import test_usage_mutations as usage
from tests.graphql.test_usage_mutations import RECORD, World
from tests.test_import import good_lines, run_import

world = usage.world  # the same chat, models and owner as the single-message tests

RECORD_MANY = """
mutation ($input: RecordChatMessagesInput!) {
  recordChatMessages(input: $input) {
    results { message { id totalCostMicros createdAt chat { id } } replayed errors { code message field } }
    errors { code message field }
  }
}
"""
#: Fields of the message row only: a chat { ... } selection adds the chat loader's statement.
RECORD_MANY_IDS = """
mutation ($input: RecordChatMessagesInput!) {
  recordChatMessages(input: $input) { results { message { id } errors { code } } errors { code } }
}
"""
RECORD_ID = """
mutation ($input: RecordChatMessageInput!) {
  recordChatMessage(input: $input) { message { id totalCostMicros } replayed errors { code } }
}
"""
UNKNOWN_CHAT = "00000000-0000-4000-8000-000000000000"


async def stored(engine: AsyncEngine) -> tuple[int, int, int]:
    """Messages, their summed cost and the rollup's sum: the rollup must always equal the cost."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    """
                    SELECT (SELECT count(*) FROM chat_messages),
                           (SELECT coalesce(sum(total_cost_micros), 0) FROM chat_messages),
                           (SELECT coalesce(sum(spend_micros), 0) FROM chat_spend_daily)
                    """
                )
            )
        ).one()
    return int(row[0]), int(row[1]), int(row[2])


async def record_many(client: GraphQLClient, messages: list[dict[str, Any]]) -> dict[str, Any]:
    data = await client.data(RECORD_MANY, {"input": {"messages": messages}})
    payload: dict[str, Any] = data["recordChatMessages"]
    return payload


def codes(result: dict[str, Any]) -> list[str]:
    return [e["code"] for e in result["errors"]]


async def test_each_message_succeeds_or_fails_on_its_own_in_input_order(
    as_chatd: GraphQLClient, engine: AsyncEngine, world: World
) -> None:
    ahead = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    payload = await record_many(
        as_chatd,
        [
            {"chatId": world.chat_id, "role": "ASSISTANT", "totalCostMicros": 100},
            {"chatId": UNKNOWN_CHAT, "role": "ASSISTANT", "totalCostMicros": 1},
            {"chatId": world.chat_id, "role": "USER", "totalCostMicros": 5, "createdAt": ahead},
            {"chatId": "not-a-uuid", "role": "USER"},
            {
                "chatId": world.chat_id,
                "role": "ASSISTANT",
                "modelId": world.priced_model_id,
                "usage": {"inputTokens": 1000, "outputTokens": 100},
            },
            {"chatId": world.chat_id, "role": "USER", "totalCostMicros": -1},
        ],
    )
    assert payload["errors"] == []
    results = payload["results"]
    assert [codes(r) for r in results] == [
        [],
        ["CHAT_NOT_FOUND"],
        ["INVALID_INPUT"],
        ["INVALID_INPUT"],
        [],
        ["INVALID_INPUT"],
    ]
    assert results[1]["errors"][0]["field"] == ["input", "messages", "1", "chatId"]
    assert results[2]["errors"][0]["field"] == ["input", "messages", "2", "createdAt"]
    assert results[0]["message"]["totalCostMicros"] == 100
    # Priced like recordChatMessage: 1000 x $3 + 100 x $15 per million tokens.
    assert results[4]["message"]["totalCostMicros"] == 4500
    assert all(r["message"] is None for i, r in enumerate(results) if i not in (0, 4))
    assert await stored(engine) == (2, 4600, 4600)


async def test_a_resent_batch_is_replayed_and_counts_nothing_twice(
    as_chatd: GraphQLClient, engine: AsyncEngine, world: World
) -> None:
    batch = [
        {
            "chatId": world.chat_id,
            "role": "ASSISTANT",
            "totalCostMicros": 10 * (i + 1),
            "idempotencyKey": f"k{i}",
        }
        for i in range(5)
    ]
    first = await record_many(as_chatd, batch)
    assert [r["replayed"] for r in first["results"]] == [False] * 5
    again = await record_many(as_chatd, batch)
    assert [r["replayed"] for r in again["results"]] == [True] * 5
    assert [r["message"]["id"] for r in again["results"]] == [r["message"]["id"] for r in first["results"]]
    assert await stored(engine) == (5, 150, 150)

    # A key reused with other input is a conflict for that message only.
    mixed = await record_many(
        as_chatd,
        [
            dict(batch[0], totalCostMicros=999),
            {"chatId": world.chat_id, "role": "USER", "totalCostMicros": 1, "idempotencyKey": "new"},
        ],
    )
    assert [codes(r) for r in mixed["results"]] == [["IDEMPOTENCY_CONFLICT"], []]
    assert await stored(engine) == (6, 151, 151)


async def test_one_key_twice_in_a_batch_records_the_first_and_answers_the_second(
    as_chatd: GraphQLClient, engine: AsyncEngine, world: World
) -> None:
    same = {"chatId": world.chat_id, "role": "ASSISTANT", "totalCostMicros": 7, "idempotencyKey": "dup"}
    payload = await record_many(as_chatd, [same, same, dict(same, totalCostMicros=8)])
    results = payload["results"]
    assert [(r["replayed"], codes(r)) for r in results] == [
        (False, []),
        (True, []),
        (False, ["IDEMPOTENCY_CONFLICT"]),
    ]
    assert results[1]["message"]["id"] == results[0]["message"]["id"]
    assert await stored(engine) == (1, 7, 7)


@pytest.mark.parametrize("count", [0, 1001])
async def test_an_empty_or_oversized_batch_records_nothing(
    as_chatd: GraphQLClient, engine: AsyncEngine, world: World, count: int
) -> None:
    messages = [{"chatId": world.chat_id, "role": "USER", "totalCostMicros": 1}] * count
    payload = await record_many(as_chatd, messages)
    assert payload["results"] == []
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("INVALID_INPUT", ["input", "messages"])]
    assert await stored(engine) == (0, 0, 0)


async def test_a_member_may_not_record(as_member: GraphQLClient, engine: AsyncEngine, world: World) -> None:
    body = await as_member.execute(
        RECORD_MANY,
        {"input": {"messages": [{"chatId": world.chat_id, "role": "USER", "totalCostMicros": 1}]}},
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await stored(engine) == (0, 0, 0)


def statements() -> float:
    """spendlimits_db_statements_total: counted on the driver path and through SQLAlchemy alike."""
    return float(metrics.SQL_STATEMENTS._value.get())


async def test_a_batch_costs_the_same_statements_whatever_its_size(
    as_chatd: GraphQLClient, world: World
) -> None:
    def batch(size: int, tag: str) -> list[dict[str, Any]]:
        return [
            {
                "chatId": world.chat_id,
                "role": "ASSISTANT",
                "modelId": world.priced_model_id,
                "usage": {"inputTokens": i},
                "idempotencyKey": f"{tag}{i}",
            }
            for i in range(size)
        ]

    counts = {}
    for size in (1, 10, 200):
        before = statements()
        data = await as_chatd.data(RECORD_MANY_IDS, {"input": {"messages": batch(size, f"s{size}-")}})
        counts[size] = statements() - before
        payload = data["recordChatMessages"]
        assert len(payload["results"]) == size
        assert all(r["errors"] == [] for r in payload["results"])
    # The token, the lookup of chats and models, the insert with its key check.
    assert counts == {1: 3, 10: 3, 200: 3}


async def test_record_chat_message_takes_two_statements_after_the_token(
    as_chatd: GraphQLClient, world: World
) -> None:
    before = statements()
    message = {"chatId": world.chat_id, "role": "USER", "totalCostMicros": 3, "idempotencyKey": "x"}
    data = await as_chatd.data(RECORD_ID, {"input": message})
    assert data["recordChatMessage"]["errors"] == []
    assert statements() - before == 3
    # A retry: the same two, the key's first message read by the insert statement itself.
    before = statements()
    again = await as_chatd.data(RECORD_ID, {"input": message})
    assert again["recordChatMessage"]["replayed"] is True
    assert statements() - before == 3


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [
        (timedelta(minutes=6), False),
        (timedelta(days=30), False),
        (timedelta(minutes=4), True),
        (-timedelta(days=400), True),
    ],
)
async def test_created_at_may_not_run_ahead_of_the_server_clock(
    as_chatd: GraphQLClient, engine: AsyncEngine, world: World, offset: timedelta, accepted: bool
) -> None:
    created_at = (datetime.now(UTC) + offset).isoformat()
    data = await as_chatd.data(
        RECORD,
        {"input": {"chatId": world.chat_id, "role": "USER", "totalCostMicros": 3, "createdAt": created_at}},
    )
    payload = data["recordChatMessage"]
    if accepted:
        assert payload["errors"] == []
        assert await stored(engine) == (1, 3, 3)
    else:
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [
            ("INVALID_INPUT", ["input", "createdAt"])
        ]
        assert payload["message"] is None
        assert await stored(engine) == (0, 0, 0)


async def test_the_importer_refuses_a_message_dated_in_the_future(engine: AsyncEngine) -> None:
    lines = good_lines()
    ahead = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    future = dict(json.loads(lines[-1]), idempotency_key="future", created_at=ahead)
    _, rejected = await run_import(engine, [*lines, json.dumps(future)])
    assert rejected == {len(lines) + 1: "createdAt may not be more than 5 minutes ahead of the server clock."}
    async with engine.connect() as conn:
        keys = (await conn.execute(text("SELECT idempotency_key FROM chat_messages"))).scalars().all()
    assert "future" not in keys
