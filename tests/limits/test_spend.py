"""Spend in a period (spec section 4): what counts, and the rollup agreeing with the raw sum."""

import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.limits.periods import Period, period_bounds
from tests.limits.factories import LimitFactory
from tests.limits.spend_reads import raw_spend, spend

JUNE = (datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 7, 1, tzinfo=UTC))


@pytest.fixture
def make(engine: AsyncEngine) -> LimitFactory:
    return LimitFactory(engine)


async def both(
    engine: AsyncEngine,
    user_id: uuid.UUID,
    window: tuple[datetime, datetime],
    organization_id: uuid.UUID | None = None,
) -> int:
    """The rollup's answer, after checking the raw sum over the messages gives the same."""
    async with engine.connect() as conn:
        rolled_up = await spend(conn, user_id, *window, organization_id)
        raw = await raw_spend(conn, user_id, *window, organization_id)
    assert rolled_up == raw
    return rolled_up


async def test_spend_counts_deleted_messages_archived_chats_and_sub_agent_chats(
    engine: AsyncEngine, make: LimitFactory
) -> None:
    org = await make.organization("acme")
    user = await make.user("alice", organizations=(org,))
    mid_june = datetime(2025, 6, 15, 12, tzinfo=UTC)
    chat = await make.chat(user, org)
    await make.message(chat, 100, created_at=mid_june)
    await make.message(chat, 20, created_at=mid_june, deleted=True)
    archived = await make.spend(user, org, 3, at=mid_june)
    await make.archive(archived)
    child = await make.chat(user, org, parent_chat_id=chat)
    await make.message(child, 4000, created_at=mid_june)
    assert await both(engine, user, JUNE) == 4123


async def test_spend_ignores_unpriced_messages_and_other_owners(
    engine: AsyncEngine, make: LimitFactory
) -> None:
    org = await make.organization("acme")
    alice = await make.user("alice", organizations=(org,))
    bob = await make.user("bob", organizations=(org,))
    mid_june = datetime(2025, 6, 15, tzinfo=UTC)
    await make.spend(alice, org, None, at=mid_june)
    await make.spend(alice, org, 7, at=mid_june)
    await make.spend(bob, org, 1000, at=mid_june)
    assert await both(engine, alice, JUNE) == 7


async def test_spend_starts_at_the_period_start_and_stops_before_its_end(
    engine: AsyncEngine, make: LimitFactory
) -> None:
    org = await make.organization("acme")
    user = await make.user("alice", organizations=(org,))
    start, end = JUNE
    await make.spend(user, org, 1, at=start - timedelta(microseconds=1))
    await make.spend(user, org, 10, at=start)
    await make.spend(user, org, 100, at=end - timedelta(microseconds=1))
    await make.spend(user, org, 1000, at=end)
    assert await both(engine, user, JUNE) == 110


async def test_spend_covers_every_organization_unless_one_is_given(
    engine: AsyncEngine, make: LimitFactory
) -> None:
    a, b = await make.organization("A"), await make.organization("B")
    user = await make.user("alice", organizations=(a, b))
    mid_june = datetime(2025, 6, 15, tzinfo=UTC)
    await make.spend(user, a, 3, at=mid_june)
    await make.spend(user, b, 40, at=mid_june)
    assert await both(engine, user, JUNE) == 43
    assert await both(engine, user, JUNE, a) == 3
    assert await both(engine, user, JUNE, b) == 40


async def test_spend_refuses_bounds_the_daily_rollup_cannot_answer(
    engine: AsyncEngine, make: LimitFactory
) -> None:
    user = await make.user("alice")
    async with engine.connect() as conn:
        with pytest.raises(ValueError, match="midnight UTC"):
            await spend(conn, user, datetime(2025, 6, 1, 12, tzinfo=UTC), JUNE[1])


async def test_the_rollup_agrees_with_the_raw_sum_through_inserts_edits_deletes_and_backdating(
    engine: AsyncEngine, make: LimitFactory
) -> None:
    rng = random.Random(20250615)
    orgs = [await make.organization(f"org{i}") for i in range(3)]
    users = [await make.user(f"user{i}", organizations=tuple(orgs)) for i in range(3)]
    chats = [await make.chat(rng.choice(users), rng.choice(orgs)) for _ in range(8)]
    chats += [
        await make.chat(owner, org, parent_chat_id=parent)
        for parent, owner, org in await _owners(engine, chats[:3])
    ]
    base = datetime(2025, 5, 20, tzinfo=UTC)
    messages = []
    for _ in range(300):
        at = base + timedelta(seconds=rng.randrange(0, 70 * 86400))
        cost = rng.choice([None, 0, rng.randrange(1, 5_000_000)])
        messages.append(
            await make.message(rng.choice(chats), cost, created_at=at, deleted=rng.random() < 0.1)
        )
    async with engine.begin() as conn:
        # A bulk insert: the rollup aggregates a whole statement's rows at once.
        await conn.execute(
            text(
                """
                INSERT INTO chat_messages (chat_id, role, total_cost_micros, created_at)
                SELECT (CAST(:chats AS uuid[]))[1 + i % cardinality(CAST(:chats AS uuid[]))], 'assistant',
                       CASE WHEN i % 7 = 0 THEN NULL ELSE i * 1013 END,
                       CAST(:base AS timestamptz) + i * interval '5 hours 7 minutes'
                FROM generate_series(1, 300) AS i
                """
            ),
            {"chats": chats, "base": base},
        )
        # Edits, moves across days (backdating), soft and hard deletes, all in bulk statements.
        await conn.execute(
            text("UPDATE chat_messages SET total_cost_micros = total_cost_micros * 2 WHERE id = ANY(:ids)"),
            {"ids": messages[:40]},
        )
        await conn.execute(
            text("UPDATE chat_messages SET created_at = created_at - interval '9 days' WHERE id = ANY(:ids)"),
            {"ids": messages[40:80]},
        )
        await conn.execute(
            text("UPDATE chat_messages SET deleted = true WHERE id = ANY(:ids)"), {"ids": messages[80:100]}
        )
        await conn.execute(
            text("UPDATE chat_messages SET total_cost_micros = NULL WHERE id = ANY(:ids)"),
            {"ids": messages[100:110]},
        )
        await conn.execute(text("DELETE FROM chat_messages WHERE id = ANY(:ids)"), {"ids": messages[110:140]})
    seen = []
    for day in range(0, 75, 3):
        at = base + timedelta(days=day, hours=5)
        for period in Period:
            window = period_bounds(period, at)
            for user in users:
                for organization in (None, *orgs):
                    seen.append(await both(engine, user, window, organization))  # noqa: PERF401 - awaited one by one
    # Agreement alone would pass with every sum at zero: most windows hold spend, and the whole
    # history adds up to what was written.
    assert sum(1 for s in seen if s > 0) > len(seen) // 2
    async with engine.connect() as conn:
        written = await conn.scalar(
            text("SELECT sum(total_cost_micros) FROM chat_messages WHERE total_cost_micros IS NOT NULL")
        )
        rolled_up = await conn.scalar(text("SELECT sum(spend_micros) FROM chat_spend_daily"))
    assert written and written > 0 and rolled_up == written


async def _owners(
    engine: AsyncEngine, chat_ids: list[uuid.UUID]
) -> list[tuple[uuid.UUID, uuid.UUID, uuid.UUID]]:
    """(chat, owner, organization) of each chat, for making sub-agent chats under them."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT id, owner_id, organization_id FROM chats WHERE id = ANY(:ids) ORDER BY id"),
            {"ids": chat_ids},
        )
        return [(r.id, r.owner_id, r.organization_id) for r in rows]
