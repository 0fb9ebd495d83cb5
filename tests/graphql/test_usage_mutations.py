"""The usage mutations over HTTP: chats, recordChatMessage (cost, idempotency) and deletes."""

import asyncio
import math
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.auth.principal import Role
from spendlimits.directory.chats import create_chat
from spendlimits.directory.members import join_organizations
from spendlimits.directory.models import ModelPrices, upsert_model
from spendlimits.directory.organizations import create_organization
from spendlimits.directory.users import delete_user
from tests.conftest import GraphQLClient, make_token, make_user

CREATE_CHAT = """
mutation ($input: CreateChatInput!) {
  createChat(input: $input) {
    chat { id title archived owner { username } organization { name } parentChat { id } totalCostMicros }
    errors { code message field }
  }
}
"""
SET_ARCHIVED = """
mutation ($input: SetChatArchivedInput!) {
  setChatArchived(input: $input) { chat { id archived } errors { code message field } }
}
"""
RECORD = """
mutation ($input: RecordChatMessageInput!) {
  recordChatMessage(input: $input) {
    message { id role totalCostMicros deleted createdAt model { model } chat { id } }
    replayed
    errors { code message field }
  }
}
"""
DELETE_MESSAGE = """
mutation ($input: DeleteChatMessageInput!) {
  deleteChatMessage(input: $input) { message { id deleted totalCostMicros } errors { code message field } }
}
"""


@dataclass
class World:
    organization_id: str
    owner_id: str
    chat_id: str
    #: $3 / $15 / $0.30 / $3.75 per million tokens.
    priced_model_id: str
    #: Cache prices only: neither an input nor an output price.
    unpriced_model_id: str


@pytest.fixture
async def world(engine: AsyncEngine) -> World:
    ada = await make_user(engine, Role.MEMBER, username="ada")
    async with engine.begin() as conn:
        organization = await create_organization(conn, name="acme")
        await join_organizations(conn, ada.id, [organization.id], ["organizationIds"])
        chat = await create_chat(conn, owner_id=ada.id, organization_id=organization.id, title="refactor")
        priced, _ = await upsert_model(
            conn,
            provider="anthropic",
            model="claude-sonnet-4-5",
            prices=ModelPrices(input=3_000_000, output=15_000_000, cache_read=300_000, cache_write=3_750_000),
        )
        unpriced, _ = await upsert_model(
            conn, provider="local", model="llama", prices=ModelPrices(cache_read=1, cache_write=1)
        )
    return World(str(organization.id), str(ada.id), str(chat.id), str(priced.id), str(unpriced.id))


async def scalar(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as conn:
        return await conn.scalar(text(sql), params)


async def record(client: GraphQLClient, **fields: Any) -> dict[str, Any]:
    data = await client.data(RECORD, {"input": {"role": "ASSISTANT", **fields}})
    payload: dict[str, Any] = data["recordChatMessage"]
    return payload


async def rollup_total(engine: AsyncEngine) -> int:
    return int(await scalar(engine, "SELECT coalesce(sum(spend_micros), 0) FROM chat_spend_daily") or 0)


# --- chats -----------------------------------------------------------------------------------------


async def test_create_chat_and_a_child_chat(as_chatd: GraphQLClient, world: World) -> None:
    data = await as_chatd.data(
        CREATE_CHAT,
        {"input": {"ownerId": world.owner_id, "organizationId": world.organization_id, "title": "hi"}},
    )
    chat = data["createChat"]["chat"]
    assert data["createChat"]["errors"] == []
    assert chat | {"id": None} == {
        "id": None,
        "title": "hi",
        "archived": False,
        "owner": {"username": "ada"},
        "organization": {"name": "acme"},
        "parentChat": None,
        "totalCostMicros": 0,
    }
    child = await as_chatd.data(
        CREATE_CHAT,
        {
            "input": {
                "ownerId": world.owner_id,
                "organizationId": world.organization_id,
                "parentChatId": chat["id"],
            }
        },
    )
    assert child["createChat"]["chat"]["parentChat"] == {"id": chat["id"]}
    assert child["createChat"]["chat"]["title"] == ""


async def test_a_child_chat_must_have_its_parents_owner(
    as_owner: GraphQLClient, engine: AsyncEngine, world: World
) -> None:
    bob = await make_user(engine, username="bob")
    data = await as_owner.data(
        CREATE_CHAT,
        {
            "input": {
                "ownerId": str(bob.id),
                "organizationId": world.organization_id,
                "parentChatId": world.chat_id,
            }
        },
    )
    assert data["createChat"] == {
        "chat": None,
        "errors": [
            {
                "code": "INVALID_INPUT",
                "message": "A child chat must have its parent chat's owner.",
                "field": ["input", "parentChatId"],
            }
        ],
    }
    assert await scalar(engine, "SELECT count(*) FROM chats") == 1


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"ownerId": "UNKNOWN"}, "USER_NOT_FOUND", "ownerId"),
        ({"ownerId": "DELETED"}, "USER_NOT_FOUND", "ownerId"),
        ({"organizationId": "UNKNOWN"}, "ORGANIZATION_NOT_FOUND", "organizationId"),
        ({"parentChatId": "UNKNOWN"}, "CHAT_NOT_FOUND", "parentChatId"),
        ({"title": "x" * 513}, "INVALID_INPUT", "title"),
    ],
)
async def test_create_chat_refusals(
    as_owner: GraphQLClient, engine: AsyncEngine, world: World, change: dict[str, str], code: str, field: str
) -> None:
    gone = await make_user(engine, username="gone")
    async with engine.begin() as conn:
        await delete_user(conn, gone.id)
    replacements = {"UNKNOWN": str(uuid.uuid4()), "DELETED": str(gone.id)}
    change = {k: replacements.get(v, v) for k, v in change.items()}
    data = await as_owner.data(
        CREATE_CHAT, {"input": {"ownerId": world.owner_id, "organizationId": world.organization_id, **change}}
    )
    assert data["createChat"]["chat"] is None
    assert [(e["code"], e["field"]) for e in data["createChat"]["errors"]] == [(code, ["input", field])]
    assert await scalar(engine, "SELECT count(*) FROM chats") == 1


async def test_archive_and_unarchive_a_chat(as_chatd: GraphQLClient, world: World) -> None:
    archived = await as_chatd.data(SET_ARCHIVED, {"input": {"chatId": world.chat_id, "archived": True}})
    assert archived["setChatArchived"] == {"chat": {"id": world.chat_id, "archived": True}, "errors": []}
    back = await as_chatd.data(SET_ARCHIVED, {"input": {"chatId": world.chat_id, "archived": False}})
    assert back["setChatArchived"]["chat"]["archived"] is False
    unknown = await as_chatd.data(SET_ARCHIVED, {"input": {"chatId": str(uuid.uuid4()), "archived": True}})
    assert unknown["setChatArchived"] == {
        "chat": None,
        "errors": [{"code": "CHAT_NOT_FOUND", "message": "Chat not found.", "field": ["input", "chatId"]}],
    }


# --- recordChatMessage: cost -----------------------------------------------------------------------


async def test_given_total_cost_is_the_cost(
    as_chatd: GraphQLClient, engine: AsyncEngine, world: World
) -> None:
    payload = await record(
        as_chatd,
        chatId=world.chat_id,
        modelId=world.priced_model_id,
        usage={"inputTokens": 1_000_000},
        totalCostMicros=42,
    )
    assert payload["errors"] == [] and payload["replayed"] is False
    assert payload["message"]["totalCostMicros"] == 42
    assert payload["message"]["model"] == {"model": "claude-sonnet-4-5"}
    assert payload["message"]["chat"] == {"id": world.chat_id}
    assert await rollup_total(engine) == 42


async def test_cost_from_usage_and_prices_rounds_up(as_chatd: GraphQLClient, world: World) -> None:
    payload = await record(
        as_chatd,
        chatId=world.chat_id,
        modelId=world.priced_model_id,
        usage={"inputTokens": 1000, "outputTokens": 500, "cacheReadTokens": 3, "cacheWriteTokens": 0},
    )
    # (1000*3,000,000 + 500*15,000,000 + 3*300,000) / 1,000,000 = 10,500.9 -> 10,501
    assert payload["message"]["totalCostMicros"] == 10_501


async def test_one_token_at_one_micro_per_million_costs_one_micro(
    as_owner: GraphQLClient, world: World
) -> None:
    model = await as_owner.data(
        """mutation { upsertChatModel(input: {provider: "tiny", model: "m",
             pricing: {inputPricePerMillionTokens: 1}}) { chatModel { id } } }"""
    )
    payload = await record(
        as_owner,
        chatId=world.chat_id,
        modelId=model["upsertChatModel"]["chatModel"]["id"],
        usage={"inputTokens": 1},
    )
    assert payload["message"]["totalCostMicros"] == 1


async def test_largest_token_counts_are_priced_exactly(as_chatd: GraphQLClient, world: World) -> None:
    most = 2**31 - 1
    payload = await record(
        as_chatd,
        chatId=world.chat_id,
        modelId=world.priced_model_id,
        usage={"inputTokens": most, "outputTokens": most, "cacheReadTokens": most, "cacheWriteTokens": most},
    )
    # 2,147,483,647 x $22.05 per million = 47,352,014,416.35 micros, rounded up.
    assert payload["message"]["totalCostMicros"] == 47_352_014_417


async def test_cost_has_no_floating_point_error(as_owner: GraphQLClient, world: World) -> None:
    model = await as_owner.data(
        """mutation { upsertChatModel(input: {provider: "big", model: "m",
             pricing: {inputPricePerMillionTokens: 20000000001}}) { chatModel { id } } }"""
    )
    payload = await record(
        as_owner,
        chatId=world.chat_id,
        modelId=model["upsertChatModel"]["chatModel"]["id"],
        usage={"inputTokens": 1_000_001},
    )
    # 20,000,020,001,000,001 / 1,000,000: in floating point the final 1 is lost and nothing rounds up.
    assert math.ceil(1_000_001 * 20_000_000_001 / 1_000_000) == 20_000_020_001
    assert payload["message"]["totalCostMicros"] == 20_000_020_002


@pytest.mark.parametrize(
    "fields",
    [
        {"modelId": "UNPRICED", "usage": {"inputTokens": 1000, "cacheReadTokens": 1000}},
        {"usage": {"inputTokens": 1000}},
        {"modelId": "PRICED"},
        {},
    ],
    ids=["unpriced-model", "no-model", "no-usage", "nothing"],
)
async def test_cost_is_null_and_uncounted_when_it_cannot_be_known(
    as_chatd: GraphQLClient, engine: AsyncEngine, world: World, fields: dict[str, Any]
) -> None:
    models = {"UNPRICED": world.unpriced_model_id, "PRICED": world.priced_model_id}
    fields = {k: models.get(v, v) if isinstance(v, str) else v for k, v in fields.items()}
    payload = await record(as_chatd, chatId=world.chat_id, **fields)
    assert payload["errors"] == []
    assert payload["message"]["totalCostMicros"] is None
    assert await rollup_total(engine) == 0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"usage": {"outputTokens": -1}}, ["input", "usage", "outputTokens"]),
        ({"totalCostMicros": -1}, ["input", "totalCostMicros"]),
        ({"idempotencyKey": ""}, ["input", "idempotencyKey"]),
        ({"idempotencyKey": "k" * 256}, ["input", "idempotencyKey"]),
    ],
)
async def test_bad_message_input_is_invalid_input(
    as_chatd: GraphQLClient, engine: AsyncEngine, world: World, fields: dict[str, Any], field: list[str]
) -> None:
    payload = await record(as_chatd, chatId=world.chat_id, modelId=world.priced_model_id, **fields)
    assert payload["message"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("INVALID_INPUT", field)]
    assert await scalar(engine, "SELECT count(*) FROM chat_messages") == 0


async def test_unknown_chat_or_model_is_not_found(as_chatd: GraphQLClient, world: World) -> None:
    no_chat = await record(as_chatd, chatId=str(uuid.uuid4()))
    assert [(e["code"], e["field"]) for e in no_chat["errors"]] == [("CHAT_NOT_FOUND", ["input", "chatId"])]
    no_model = await record(as_chatd, chatId=world.chat_id, modelId=str(uuid.uuid4()))
    assert [(e["code"], e["field"]) for e in no_model["errors"]] == [
        ("MODEL_NOT_FOUND", ["input", "modelId"])
    ]


async def test_created_at_in_the_past_counts_on_that_utc_day(
    as_chatd: GraphQLClient, engine: AsyncEngine, world: World
) -> None:
    payload = await record(
        as_chatd, chatId=world.chat_id, totalCostMicros=5, createdAt="2025-06-15T22:30:00-04:00"
    )
    assert payload["message"]["createdAt"] == "2025-06-16T02:30:00Z"
    day = await scalar(engine, "SELECT day::text FROM chat_spend_daily WHERE spend_micros = 5")
    assert day == "2025-06-16"


# --- recordChatMessage: idempotency ----------------------------------------------------------------


async def test_a_retry_returns_the_first_message_and_counts_once(
    as_chatd: GraphQLClient, engine: AsyncEngine, world: World
) -> None:
    fields = {"chatId": world.chat_id, "modelId": world.priced_model_id, "usage": {"inputTokens": 1000}}
    first = await record(as_chatd, idempotencyKey="turn-1", **fields)
    retry = await record(as_chatd, idempotencyKey="turn-1", **fields)
    assert first["replayed"] is False and retry["replayed"] is True
    assert retry["message"] == first["message"]
    assert retry["errors"] == []
    assert await scalar(engine, "SELECT count(*) FROM chat_messages") == 1
    assert await rollup_total(engine) == 3000


async def test_a_retry_after_a_price_change_is_still_a_replay(
    as_owner: GraphQLClient, engine: AsyncEngine, world: World
) -> None:
    fields = {"chatId": world.chat_id, "modelId": world.priced_model_id, "usage": {"inputTokens": 1000}}
    first = await record(as_owner, idempotencyKey="turn-1", **fields)
    await as_owner.data(
        """mutation { upsertChatModel(input: {provider: "anthropic", model: "claude-sonnet-4-5",
             pricing: {inputPricePerMillionTokens: 9000000}}) { errors { code } } }"""
    )
    retry = await record(as_owner, idempotencyKey="turn-1", **fields)
    assert (
        retry["replayed"] is True
        and retry["message"]["totalCostMicros"] == first["message"]["totalCostMicros"]
    )
    assert await rollup_total(engine) == 3000


@pytest.mark.parametrize(
    "change",
    [
        {"usage": {"inputTokens": 1001}},
        {"role": "USER"},
        {"totalCostMicros": 3000},
        {"createdAt": "2025-01-01T00:00:00Z"},
        {"modelId": None},
    ],
)
async def test_the_same_key_with_other_input_is_an_idempotency_conflict(
    as_chatd: GraphQLClient, engine: AsyncEngine, world: World, change: dict[str, Any]
) -> None:
    fields = {"chatId": world.chat_id, "modelId": world.priced_model_id, "usage": {"inputTokens": 1000}}
    await record(as_chatd, idempotencyKey="turn-1", **fields)
    conflict = await record(as_chatd, idempotencyKey="turn-1", **(fields | change))
    assert conflict == {
        "message": None,
        "replayed": False,
        "errors": [
            {
                "code": "IDEMPOTENCY_CONFLICT",
                "message": "This idempotencyKey was already used for a different message in this chat.",
                "field": ["input", "idempotencyKey"],
            }
        ],
    }
    assert await scalar(engine, "SELECT count(*) FROM chat_messages") == 1
    assert await rollup_total(engine) == 3000


async def test_equivalent_inputs_are_the_same_request(as_chatd: GraphQLClient, world: World) -> None:
    first = await record(
        as_chatd,
        chatId=world.chat_id,
        usage={"inputTokens": 5},
        createdAt="2025-06-15T12:00:00Z",
        totalCostMicros=9,
        idempotencyKey="k",
    )
    retry = await record(
        as_chatd,
        chatId=world.chat_id,
        usage={"inputTokens": 5, "outputTokens": 0, "cacheReadTokens": None},
        createdAt="2025-06-15T14:00:00+02:00",
        totalCostMicros="9",
        idempotencyKey="k",
    )
    assert retry["replayed"] is True and retry["message"]["id"] == first["message"]["id"]


async def test_a_key_is_scoped_to_its_chat(
    as_chatd: GraphQLClient, engine: AsyncEngine, world: World
) -> None:
    async with engine.begin() as conn:
        other = await create_chat(
            conn, owner_id=uuid.UUID(world.owner_id), organization_id=uuid.UUID(world.organization_id)
        )
    first = await record(as_chatd, chatId=world.chat_id, totalCostMicros=1, idempotencyKey="k")
    second = await record(as_chatd, chatId=str(other.id), totalCostMicros=1, idempotencyKey="k")
    assert second["replayed"] is False and second["message"]["id"] != first["message"]["id"]


async def test_twenty_concurrent_retries_record_one_message(
    as_chatd: GraphQLClient, engine: AsyncEngine, world: World
) -> None:
    variables = {
        "input": {
            "chatId": world.chat_id,
            "role": "ASSISTANT",
            "modelId": world.priced_model_id,
            "usage": {"inputTokens": 1000, "outputTokens": 100},
            "idempotencyKey": "turn-7",
        }
    }
    bodies = await asyncio.gather(*(as_chatd.data(RECORD, variables) for _ in range(20)))
    payloads = [b["recordChatMessage"] for b in bodies]
    assert all(p["errors"] == [] for p in payloads)
    assert sorted(p["replayed"] for p in payloads) == [False] + [True] * 19
    assert len({p["message"]["id"] for p in payloads}) == 1
    assert await scalar(engine, "SELECT count(*) FROM chat_messages") == 1
    assert await rollup_total(engine) == 4500


async def test_concurrent_conflicting_inputs_record_exactly_one(
    as_chatd: GraphQLClient, engine: AsyncEngine, world: World
) -> None:
    bodies = await asyncio.gather(
        *(
            as_chatd.data(
                RECORD,
                {
                    "input": {
                        "chatId": world.chat_id,
                        "role": "ASSISTANT",
                        "totalCostMicros": cost,
                        "idempotencyKey": "k",
                    }
                },
            )
            for cost in range(1, 11)
        )
    )
    payloads = [b["recordChatMessage"] for b in bodies]
    winners = [p for p in payloads if p["message"] is not None]
    assert len(winners) == 1 and winners[0]["replayed"] is False
    assert all(p["errors"][0]["code"] == "IDEMPOTENCY_CONFLICT" for p in payloads if p["message"] is None)
    assert await rollup_total(engine) == winners[0]["message"]["totalCostMicros"]


# --- deleteChatMessage -----------------------------------------------------------------------------


async def test_deleted_messages_still_count(
    as_chatd: GraphQLClient, engine: AsyncEngine, world: World
) -> None:
    recorded = await record(as_chatd, chatId=world.chat_id, totalCostMicros=250)
    message_id = recorded["message"]["id"]
    for _ in range(2):
        data = await as_chatd.data(DELETE_MESSAGE, {"input": {"messageId": message_id}})
        assert data["deleteChatMessage"] == {
            "message": {"id": message_id, "deleted": True, "totalCostMicros": 250},
            "errors": [],
        }
    chat = await as_chatd.data(
        "query ($id: ID!) { chat(id: $id) { totalCostMicros } }", {"id": world.chat_id}
    )
    assert chat["chat"]["totalCostMicros"] == 250
    assert await rollup_total(engine) == 250


async def test_deleting_an_unknown_message_is_chat_not_found(as_chatd: GraphQLClient) -> None:
    data = await as_chatd.data(DELETE_MESSAGE, {"input": {"messageId": str(uuid.uuid4())}})
    assert data["deleteChatMessage"] == {
        "message": None,
        "errors": [
            {"code": "CHAT_NOT_FOUND", "message": "Chat message not found.", "field": ["input", "messageId"]}
        ],
    }


# --- who may call what -----------------------------------------------------------------------------


@pytest.fixture(params=["auditor", "member"])
async def reader(
    request: pytest.FixtureRequest, client: httpx.AsyncClient, engine: AsyncEngine
) -> GraphQLClient:
    user = await make_user(engine, Role(request.param))
    return GraphQLClient(client, await make_token(engine, user))


async def test_auditors_and_members_write_no_usage(
    reader: GraphQLClient, engine: AsyncEngine, world: World
) -> None:
    async with engine.connect() as conn:
        message_id = await conn.scalar(
            text("INSERT INTO chat_messages (chat_id, role) VALUES (:c, 'user') RETURNING id"),
            {"c": world.chat_id},
        )
        await conn.commit()
    writes: list[tuple[str, dict[str, Any]]] = [
        (CREATE_CHAT, {"input": {"ownerId": world.owner_id, "organizationId": world.organization_id}}),
        (SET_ARCHIVED, {"input": {"chatId": world.chat_id, "archived": True}}),
        (RECORD, {"input": {"chatId": world.chat_id, "role": "USER", "totalCostMicros": 5}}),
        (DELETE_MESSAGE, {"input": {"messageId": str(message_id)}}),
    ]
    for mutation, variables in writes:
        body = await reader.execute(mutation, variables)
        assert body["data"] is None
        assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    state = await scalar(
        engine,
        "SELECT (SELECT count(*) FROM chats)::text || (SELECT count(*) FROM chats WHERE archived)::text"
        " || (SELECT count(*) FROM chat_messages)::text || (SELECT count(*) FROM chat_messages WHERE deleted)::text",
    )
    assert state == "1010"


async def test_the_chat_daemon_and_owners_write_usage(
    as_chatd: GraphQLClient, as_owner: GraphQLClient, world: World
) -> None:
    for writer in (as_chatd, as_owner):
        chat = await writer.data(
            CREATE_CHAT, {"input": {"ownerId": world.owner_id, "organizationId": world.organization_id}}
        )
        chat_id = chat["createChat"]["chat"]["id"]
        archived = await writer.data(SET_ARCHIVED, {"input": {"chatId": chat_id, "archived": True}})
        assert archived["setChatArchived"]["errors"] == []
        recorded = await record(writer, chatId=chat_id, totalCostMicros=1)
        deleted = await writer.data(DELETE_MESSAGE, {"input": {"messageId": recorded["message"]["id"]}})
        assert deleted["deleteChatMessage"]["message"]["deleted"] is True
