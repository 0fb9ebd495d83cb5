"""The spend rollup (chat_spend_daily) always equals the raw sum of message costs, and the
per-user period totals (chat_spend_period_totals, migration 000008) always equal the rollup's sums.

Every period (day, week, month) is a whole number of UTC days, so rollup rows equal to the raw
per-(user, organization, UTC day) sums mean every period's spend agrees in every scope.
"""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from spendlimits.insight.ranking import SLOTS
from spendlimits.limits.periods import Period, period_bounds

EPOCH = datetime(2025, 1, 1, tzinfo=UTC)

# Summed over slots: concurrent writers of one key add to different rows (migration 000003).
ROLLUP = text(
    """
    SELECT user_id, organization_id, day, sum(spend_micros) AS spend_micros FROM chat_spend_daily
    GROUP BY 1, 2, 3 HAVING sum(spend_micros) <> 0
    """
)
RAW = text(
    """
    SELECT c.owner_id AS user_id, c.organization_id, (m.created_at AT TIME ZONE 'UTC')::date AS day,
           sum(m.total_cost_micros) AS spend_micros
    FROM chat_messages m JOIN chats c ON c.id = m.chat_id
    WHERE m.total_cost_micros IS NOT NULL
    GROUP BY 1, 2, 3 HAVING sum(m.total_cost_micros) <> 0
    """
)


# Summed over slots, like the rollup.
TOTALS = text(
    """
    SELECT user_id, period, period_start, sum(spend_micros) AS spend_micros FROM chat_spend_period_totals
    GROUP BY 1, 2, 3 HAVING sum(spend_micros) <> 0
    """
)
PER_USER_DAY = text(
    "SELECT user_id, day, sum(spend_micros) AS spend_micros FROM chat_spend_daily GROUP BY 1, 2"
)


async def rows(conn: AsyncConnection, query: Any) -> set[tuple[Any, ...]]:
    return {tuple(r) for r in await conn.execute(query)}


async def expected_totals(conn: AsyncConnection) -> set[tuple[Any, ...]]:
    """Every user's spend per period, from the rollup with the service's own period arithmetic
    (not the trigger's SQL)."""
    totals: dict[tuple[Any, ...], int] = {}
    for user_id, day, spend in await conn.execute(PER_USER_DAY):
        at = datetime(day.year, day.month, day.day, tzinfo=UTC)
        for period in Period:
            key = (user_id, period.value, period_bounds(period, at)[0].date())
            totals[key] = totals.get(key, 0) + int(spend)
    return {(*key, spend) for key, spend in totals.items() if spend != 0}


async def assert_totals_follow_the_rollup(conn: AsyncConnection) -> None:
    assert await rows(conn, TOTALS) == await expected_totals(conn)
    negative = await conn.scalar(text("SELECT count(*) FROM chat_spend_period_totals WHERE spend_micros < 0"))
    assert negative == 0


# One step of a history: what a platform (or an operator with psql) might do to messages.
message = st.fixed_dictionaries(
    {
        "op": st.sampled_from(
            ["insert", "insert", "insert", "batch", "soft_delete", "archive", "reprice", "delete"]
        ),
        "user": st.integers(0, 2),
        "org": st.integers(0, 1),
        "child": st.booleans(),
        # Minutes from the epoch over ~70 days: crosses day, week and month boundaries, and
        # arrives out of order (backdated inserts).
        "minute": st.integers(0, 70 * 24 * 60),
        "cost": st.one_of(st.none(), st.integers(0, 5_000_000)),
        "pick": st.integers(0, 10_000),
    }
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=st.lists(message, min_size=1, max_size=30))
async def test_rollup_equals_raw_sum_for_any_history(
    engine: AsyncEngine, history: list[dict[str, Any]]
) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text("TRUNCATE chat_spend_daily, chat_messages, chats, users, organizations CASCADE")
        )
        orgs = [uuid.uuid4(), uuid.uuid4()]
        users = [uuid.uuid4() for _ in range(3)]
        for i, org in enumerate(orgs):
            await conn.execute(
                text("INSERT INTO organizations (id, name) VALUES (:id, :n)"), {"id": org, "n": f"o{i}"}
            )
        for i, user in enumerate(users):
            await conn.execute(
                text("INSERT INTO users (id, username) VALUES (:id, :n)"), {"id": user, "n": f"u{i}"}
            )
        parents: dict[tuple[int, int], uuid.UUID] = {}
        for u, user in enumerate(users):
            for o, org in enumerate(orgs):
                parents[(u, o)] = await conn.scalar(
                    text("INSERT INTO chats (owner_id, organization_id) VALUES (:u, :o) RETURNING id"),
                    {"u": user, "o": org},
                )

        for step in history:
            parent = parents[(step["user"], step["org"])]
            chat = parent
            if step["child"]:
                chat = await conn.scalar(
                    text(
                        "INSERT INTO chats (owner_id, organization_id, parent_chat_id) VALUES (:u, :o, :p) RETURNING id"
                    ),
                    {"u": users[step["user"]], "o": orgs[step["org"]], "p": parent},
                )
            at = EPOCH + timedelta(minutes=step["minute"])
            existing = (await conn.execute(text("SELECT id FROM chat_messages ORDER BY id"))).scalars().all()
            target = existing[step["pick"] % len(existing)] if existing else None
            op = step["op"]
            if op == "insert" or (target is None and op != "batch"):
                await conn.execute(
                    text(
                        "INSERT INTO chat_messages (chat_id, role, total_cost_micros, created_at) VALUES (:c, 'assistant', :cost, :at)"
                    ),
                    {"c": chat, "cost": step["cost"], "at": at},
                )
            elif op == "batch":
                # Several rows in one statement: the trigger aggregates them in one upsert.
                await conn.execute(
                    text(
                        """
                        INSERT INTO chat_messages (chat_id, role, total_cost_micros, created_at)
                        SELECT CAST(:c AS uuid), 'assistant', CAST(:cost AS bigint), CAST(:at AS timestamptz) + make_interval(hours => g * 7) FROM generate_series(0, 4) g
                        """
                    ),
                    {"c": chat, "cost": step["cost"], "at": at},
                )
            elif op == "soft_delete":
                await conn.execute(
                    text("UPDATE chat_messages SET deleted = true WHERE id = :id"), {"id": target}
                )
            elif op == "archive":
                await conn.execute(text("UPDATE chats SET archived = true WHERE id = :id"), {"id": chat})
            elif op == "reprice":
                # Not something the API does, but an operator might: the rollup must follow.
                await conn.execute(
                    text(
                        "UPDATE chat_messages SET total_cost_micros = :cost, created_at = :at WHERE id = :id"
                    ),
                    {"cost": step["cost"], "at": at, "id": target},
                )
            else:
                await conn.execute(text("DELETE FROM chat_messages WHERE id = :id"), {"id": target})

        assert await rows(conn, ROLLUP) == await rows(conn, RAW)
        await assert_totals_follow_the_rollup(conn)


async def test_chat_owner_and_organization_cannot_change(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        org = await conn.scalar(text("INSERT INTO organizations (name) VALUES ('a') RETURNING id"))
        other = await conn.scalar(text("INSERT INTO organizations (name) VALUES ('b') RETURNING id"))
        user = await conn.scalar(text("INSERT INTO users (username) VALUES ('u') RETURNING id"))
        chat = await conn.scalar(
            text("INSERT INTO chats (owner_id, organization_id) VALUES (:u, :o) RETURNING id"),
            {"u": user, "o": org},
        )
    with pytest.raises(DBAPIError, match="cannot change"):
        async with engine.begin() as conn:
            await conn.execute(
                text("UPDATE chats SET organization_id = :o WHERE id = :c"), {"o": other, "c": chat}
            )


WRITERS = 16


async def test_rollup_is_exact_under_16_concurrent_writers_of_one_user(
    engine: AsyncEngine, database_url: str
) -> None:
    """16 sessions record (and some delete) messages of one user on one day at once: the rollup
    and the period totals, summed over their slots, still equal the raw sum, no row went negative,
    and the writers spread over several slots instead of queueing on one row."""
    import asyncio
    import random

    from tests.conftest import plain
    from tests.limits.factories import LimitFactory

    make = LimitFactory(engine)
    org = await make.organization("acme")
    user = await make.user("alice", organizations=(org,))
    chats = [await make.chat(user, org) for _ in range(4)]
    day = datetime(2025, 6, 15, 12, tzinfo=UTC)

    async def writer(seed: int) -> None:
        rng = random.Random(seed)
        conn = await asyncpg.connect(plain(database_url))
        try:
            for step in range(25):
                ids = await conn.fetch(
                    """
                    INSERT INTO chat_messages (chat_id, role, total_cost_micros, created_at)
                    SELECT $1, 'assistant', c, $2 FROM unnest($3::bigint[]) AS c RETURNING id
                    """,
                    rng.choice(chats),
                    day,
                    [rng.randrange(0, 10_000) for _ in range(rng.randrange(1, 4))],
                )
                if step < 10 and rng.random() < 0.3:
                    # A hard delete lowers the key's spend: the path that folds the slots into one.
                    # Early only, so that the later inserts show the writers spreading again.
                    await conn.execute("DELETE FROM chat_messages WHERE id = $1", ids[0]["id"])
        finally:
            await conn.close()

    await asyncio.gather(*(writer(seed) for seed in range(WRITERS)))
    async with engine.connect() as conn:
        assert await rows(conn, ROLLUP) == await rows(conn, RAW)
        total = await conn.scalar(text("SELECT sum(spend_micros) FROM chat_spend_daily"))
        negative = await conn.scalar(text("SELECT count(*) FROM chat_spend_daily WHERE spend_micros < 0"))
        slots = await conn.scalar(text("SELECT count(DISTINCT slot) FROM chat_spend_daily"))
        await assert_totals_follow_the_rollup(conn)
        month_slots = await conn.scalar(
            text("SELECT count(DISTINCT slot) FROM chat_spend_period_totals WHERE period = 'month'")
        )
    assert month_slots and month_slots > 1
    assert total and total > 0
    assert negative == 0
    assert slots and slots > 1


async def sessions_sharing_a_slot(url: str) -> tuple[asyncpg.Connection, asyncpg.Connection]:
    """Two open sessions whose backends have the same slot (pg_backend_pid() % SLOTS)."""
    by_slot: dict[int, asyncpg.Connection] = {}
    while True:
        conn = await asyncpg.connect(url)
        slot = await conn.fetchval("SELECT pg_backend_pid() % $1", SLOTS)
        if slot in by_slot:
            for other_slot, other in by_slot.items():
                if other_slot != slot:
                    await other.close()
            return by_slot[slot], conn
        by_slot[slot] = conn  # kept open until a pair is found, so the next pids differ


async def test_concurrent_one_row_writers_whose_pids_collide_take_different_slots(
    engine: AsyncEngine, database_url: str
) -> None:
    """Two one-message INSERTs of one user, in open transactions of two backends with the same
    slot: the second does not wait for the first to commit (it takes the next slot, migration
    000011), and both land in the rollup and the totals exactly."""
    from tests.conftest import plain
    from tests.limits.factories import LimitFactory

    make = LimitFactory(engine)
    org = await make.organization("acme")
    user = await make.user("alice", organizations=(org,))
    chat = await make.chat(user, org)
    first, second = await sessions_sharing_a_slot(plain(database_url))
    insert = "INSERT INTO chat_messages (chat_id, role, total_cost_micros) VALUES ($1, 'assistant', $2)"
    try:
        own = await first.fetchval("SELECT pg_backend_pid() % $1", SLOTS)
        async with first.transaction(), second.transaction():
            await first.execute(insert, chat, 5)
            # Waiting for the first transaction's row locks would run into this and fail the test.
            await second.execute("SET LOCAL lock_timeout = '2s'")
            await second.execute(insert, chat, 7)
    finally:
        await first.close()
        await second.close()
    async with engine.connect() as conn:
        slots = {
            (r.slot, r.spend_micros)
            for r in await conn.execute(text("SELECT slot, spend_micros FROM chat_spend_daily"))
        }
        assert slots == {(own, 5), ((own + 1) % SLOTS, 7)}
        assert await rows(conn, ROLLUP) == await rows(conn, RAW)
        await assert_totals_follow_the_rollup(conn)


async def test_the_rankings_slot_bound_is_the_databases(engine: AsyncEngine) -> None:
    """The ranking's threshold scan bounds an unseen user by SLOTS times the lowest slot row read:
    exact only while no slot row can lie outside 0..SLOTS-1, which the tables' CHECKs enforce (the
    trigger's slot count is refused by them if it grows alone)."""
    async with engine.connect() as conn:
        checks = (
            await conn.execute(
                text(
                    "SELECT conrelid::regclass::text AS tbl, pg_get_constraintdef(oid) AS definition FROM pg_constraint "
                    "WHERE contype = 'c' AND conrelid IN ('chat_spend_daily'::regclass, "
                    "'chat_spend_period_totals'::regclass) AND pg_get_constraintdef(oid) LIKE '%slot%'"
                )
            )
        ).all()
    assert {(c.tbl, c.definition) for c in checks} == {
        (table, f"CHECK (((slot >= 0) AND (slot <= {SLOTS - 1})))")
        for table in ("chat_spend_daily", "chat_spend_period_totals")
    }
