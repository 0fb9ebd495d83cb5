"""The demo data: realistic, loadable twice without duplicates, rollup consistent."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.demo import OWNER, DemoSize, load_demo
from tests.conftest import GraphQLClient

SMALL = DemoSize(users=15, messages=600, days=60)
NOW = datetime(2025, 6, 20, 12, tzinfo=UTC)

TABLES = [
    "organizations",
    "users",
    "organization_members",
    "groups",
    "group_members",
    "chat_models",
    "chats",
    "chat_messages",
    "chat_spend_daily",
]


async def row_counts(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        return {t: int(await conn.scalar(text(f"SELECT count(*) FROM {t}")) or 0) for t in TABLES}


async def rollup_mismatches(engine: AsyncEngine) -> int:
    """(user, day, organization) cells where the rollup differs from the sum of the messages."""
    async with engine.connect() as conn:
        mismatches = await conn.scalar(
            text(
                """
                WITH raw AS (
                    SELECT c.owner_id AS user_id, (m.created_at AT TIME ZONE 'UTC')::date AS day,
                           c.organization_id, sum(m.total_cost_micros) AS spend
                    FROM chat_messages m JOIN chats c ON c.id = m.chat_id
                    WHERE m.total_cost_micros IS NOT NULL
                    GROUP BY 1, 2, 3
                ),
                -- Summed: a key's folded row and its journal rows (migration 000012).
                rolled_up AS (
                    SELECT user_id, day, organization_id, sum(spend_micros) AS spend_micros
                    FROM chat_spend_daily GROUP BY 1, 2, 3
                )
                SELECT count(*) FROM raw FULL JOIN rolled_up d USING (user_id, day, organization_id)
                WHERE raw.spend IS DISTINCT FROM d.spend_micros
                """
            )
        )
    return int(mismatches or 0)


async def test_loading_the_demo_twice_duplicates_nothing(engine: AsyncEngine) -> None:
    first = await load_demo(engine, size=SMALL, now=NOW)
    after_first = await row_counts(engine)
    # The loader folds what it wrote: a server started on the sample has nothing to catch up on.
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM chat_spend_unfolded")) == 0
        assert (
            await conn.scalar(text("SELECT count(*) FROM chat_spend_daily_folded"))
            == after_first["chat_spend_daily"]
        )
    # A later day: the messages' timestamps would differ, their keys do not.
    second = await load_demo(engine, size=SMALL, now=NOW + timedelta(days=3))

    # The history, plus the current period's top-ups (test_demo_current_period.py).
    assert first.messages_added > 600 and first.messages_present == 0
    # The top-ups are not made again: their members are at their share already.
    assert (second.messages_added, second.messages_present) == (0, 600)
    assert await row_counts(engine) == after_first
    assert after_first["users"] == 15 and after_first["organizations"] == 2
    assert await rollup_mismatches(engine) == 0


async def test_the_demo_sample_is_realistic(engine: AsyncEngine) -> None:
    await load_demo(engine, size=SMALL, now=NOW)
    async with engine.connect() as conn:
        facts = (
            await conn.execute(
                text(
                    """
                    SELECT
                      (SELECT count(*) FROM groups WHERE id <> organization_id) AS groups,
                      (SELECT count(*) FROM groups WHERE chat_spend_limit_micros IS NOT NULL) AS group_limits,
                      (SELECT count(*) FROM users WHERE chat_spend_limit_micros IS NOT NULL) AS user_limits,
                      (SELECT count(*) FROM users WHERE role = 'owner') AS owners,
                      (SELECT count(*) FROM chat_models
                       WHERE input_price_micros IS NULL AND output_price_micros IS NULL) AS unpriced_models,
                      (SELECT count(*) FROM chat_messages WHERE total_cost_micros IS NULL) AS unpriced_messages,
                      (SELECT count(*) FROM chats WHERE parent_chat_id IS NOT NULL) AS child_chats,
                      (SELECT count(*) FROM chats WHERE archived) AS archived_chats,
                      (SELECT min(created_at) FROM chat_messages) AS oldest,
                      (SELECT max(created_at) FROM chat_messages) AS newest,
                      (SELECT enabled FROM chat_usage_limit_config) AS limits_enabled
                    """
                )
            )
        ).one()
    assert facts.groups == 5 and 0 < facts.group_limits < facts.groups
    assert facts.user_limits == 1 and facts.owners == 1
    assert facts.unpriced_models == 1 and facts.unpriced_messages > 0
    assert facts.child_chats > 0 and facts.archived_chats > 0
    assert NOW - timedelta(days=60) <= facts.oldest < facts.newest <= NOW
    assert facts.limits_enabled is True


async def test_the_demo_owner_token_works(engine: AsyncEngine, client: httpx.AsyncClient) -> None:
    loaded = await load_demo(engine, size=SMALL, now=NOW)
    owner = GraphQLClient(client, loaded.owner_token)
    data = await owner.data("{ viewer { username role } organizations { name memberCount } }")
    assert data["viewer"] == {"username": OWNER, "role": "OWNER"}
    assert [o["name"] for o in data["organizations"]] == ["acme", "globex"]
    assert all(o["memberCount"] > 0 for o in data["organizations"])


async def test_the_demo_keeps_its_owner_token_instead_of_adding_one(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    kept = tmp_path / ".pgdata.demo-owner.json"
    first = await load_demo(engine, size=SMALL, now=NOW, keep_token_in=kept)
    again = await load_demo(engine, size=SMALL, now=NOW, keep_token_in=kept)
    assert again.owner_token == first.owner_token
    assert kept.stat().st_mode & 0o077 == 0
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM api_tokens")) == 1
    # Revoked since: a new one replaces it, and is kept in its place.
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE api_tokens SET revoked_at = now()"))
    replaced = await load_demo(engine, size=SMALL, now=NOW, keep_token_in=kept)
    assert replaced.owner_token != first.owner_token
    assert (
        await load_demo(engine, size=SMALL, now=NOW, keep_token_in=kept)
    ).owner_token == replaced.owner_token
