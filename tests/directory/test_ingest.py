"""Recording messages in the domain: batches, outcomes per message, concurrent retries."""

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.directory.chats import Chat, create_chat
from spendlimits.directory.cost import TokenUsage
from spendlimits.directory.ingest import NewMessage, Recorded, delete_message, record_message, record_messages
from spendlimits.directory.messages import MessageRole
from spendlimits.directory.models import ChatModel, ModelPrices, upsert_model
from spendlimits.directory.organizations import create_organization
from spendlimits.errors import DomainError
from tests.conftest import make_user

ASSISTANT = MessageRole.ASSISTANT


@dataclass
class Setup:
    chat: Chat
    other_chat: Chat
    model: ChatModel


@pytest.fixture
async def setup(engine: AsyncEngine) -> Setup:
    ada = await make_user(engine, username="ada")
    bob = await make_user(engine, username="bob")
    async with engine.begin() as conn:
        organization = await create_organization(conn, name="acme")
        chat = await create_chat(conn, owner_id=ada.id, organization_id=organization.id)
        other = await create_chat(conn, owner_id=bob.id, organization_id=organization.id)
        model, _ = await upsert_model(conn, provider="p", model="m", prices=ModelPrices(input=1_000_000))
    return Setup(chat, other, model)


async def rollup_matches_raw_sum(engine: AsyncEngine) -> tuple[int, int]:
    async with engine.connect() as conn:
        rollup = await conn.scalar(text("SELECT coalesce(sum(spend_micros), 0) FROM chat_spend_daily"))
        raw = await conn.scalar(text("SELECT coalesce(sum(total_cost_micros), 0) FROM chat_messages"))
    return int(rollup or 0), int(raw or 0)


async def test_a_batch_reports_each_message_and_records_the_good_ones(
    engine: AsyncEngine, setup: Setup
) -> None:
    async with engine.begin() as conn:
        await record_message(
            conn, NewMessage(setup.chat.id, ASSISTANT, total_cost_micros=5, idempotency_key="old")
        )
    batch = [
        NewMessage(setup.chat.id, ASSISTANT, model_id=setup.model.id, usage=TokenUsage(input_tokens=3)),
        NewMessage(uuid.uuid4(), ASSISTANT, total_cost_micros=1),
        NewMessage(setup.chat.id, ASSISTANT, total_cost_micros=5, idempotency_key="old"),
        NewMessage(setup.chat.id, ASSISTANT, total_cost_micros=6, idempotency_key="old"),
        NewMessage(setup.other_chat.id, MessageRole.USER, model_id=uuid.uuid4()),
        NewMessage(setup.other_chat.id, ASSISTANT, usage=TokenUsage(input_tokens=-1)),
        NewMessage(setup.other_chat.id, ASSISTANT, total_cost_micros=11, idempotency_key="new"),
        NewMessage(setup.other_chat.id, ASSISTANT, total_cost_micros=11, idempotency_key="new"),
    ]
    async with engine.begin() as conn:
        outcomes = await record_messages(conn, batch)

    assert [o.replayed if isinstance(o, Recorded) else o.code for o in outcomes] == [
        False,
        "CHAT_NOT_FOUND",
        True,
        "IDEMPOTENCY_CONFLICT",
        "MODEL_NOT_FOUND",
        "INVALID_INPUT",
        False,
        True,
    ]
    recorded = [o for o in outcomes if isinstance(o, Recorded)]
    assert recorded[0].message.total_cost_micros == 3
    assert recorded[2].message.id == recorded[3].message.id
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM chat_messages")) == 3
    assert await rollup_matches_raw_sum(engine) == (19, 19)


async def test_a_batch_spread_over_days_and_users_keeps_the_rollup_exact(
    engine: AsyncEngine, setup: Setup
) -> None:
    start = datetime(2025, 3, 1, 23, tzinfo=UTC)
    batch = [
        NewMessage(
            (setup.chat if i % 3 else setup.other_chat).id,
            ASSISTANT,
            total_cost_micros=i,
            created_at=start + timedelta(hours=i),
            idempotency_key=f"k{i}",
        )
        for i in range(200)
    ]
    async with engine.begin() as conn:
        await record_messages(conn, batch)
    async with engine.begin() as conn:
        replayed = await record_messages(conn, batch)
    assert all(isinstance(o, Recorded) and o.replayed for o in replayed)
    assert await rollup_matches_raw_sum(engine) == (sum(range(200)), sum(range(200)))


async def test_concurrent_retries_on_separate_connections_record_once(
    engine: AsyncEngine, setup: Setup
) -> None:
    message = NewMessage(setup.chat.id, ASSISTANT, total_cost_micros=100, idempotency_key="turn-1")

    async def attempt() -> Recorded:
        async with engine.begin() as conn:
            return await record_message(conn, message)

    results = await asyncio.gather(*(attempt() for _ in range(20)))
    assert sorted(r.replayed for r in results) == [False] + [True] * 19
    assert len({r.message.id for r in results}) == 1
    assert await rollup_matches_raw_sum(engine) == (100, 100)


async def test_a_naive_created_at_is_refused(engine: AsyncEngine, setup: Setup) -> None:
    async with engine.begin() as conn:
        with pytest.raises(DomainError) as naive:
            await record_message(conn, NewMessage(setup.chat.id, ASSISTANT, created_at=datetime(2025, 1, 1)))
    assert naive.value.field == ["input", "createdAt"]


async def test_soft_deleting_keeps_the_cost_counted(engine: AsyncEngine, setup: Setup) -> None:
    async with engine.begin() as conn:
        recorded = await record_message(conn, NewMessage(setup.chat.id, ASSISTANT, total_cost_micros=9))
        deleted = await delete_message(conn, recorded.message.id)
    assert deleted.deleted and deleted.total_cost_micros == 9
    assert await rollup_matches_raw_sum(engine) == (9, 9)
