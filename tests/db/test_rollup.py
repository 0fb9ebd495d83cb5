"""The spend rollup (chat_spend_daily) always equals the raw sum of message costs, and the
per-user period totals (chat_spend_period_totals, migration 000008) always equal the rollup's sums,
whether the spend journal (migration 000012) was folded or not, and folding changes no sum.

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

from spendlimits.limits.periods import Period, period_bounds

EPOCH = datetime(2025, 1, 1, tzinfo=UTC)

# Summed: a key has its folded row and the journal's rows not yet folded (migration 000012).
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


# Summed, like the rollup.
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


async def assert_folds_exactly(conn: AsyncConnection) -> None:
    """A fold empties the journal, changes no sum, and leaves one non-negative row per key."""
    before_rollup, before_totals = await rows(conn, ROLLUP), await rows(conn, TOTALS)
    assert await conn.scalar(text("SELECT spendlimits_fold_spend_journal()")) is not None
    assert await conn.scalar(text("SELECT count(*) FROM chat_spend_journal")) == 0
    assert await rows(conn, ROLLUP) == before_rollup
    assert await rows(conn, TOTALS) == before_totals
    for table in ("chat_spend_daily_folded", "chat_spend_period_totals_folded"):
        negative = await conn.scalar(text(f"SELECT count(*) FROM {table} WHERE spend_micros < 0"))
        assert negative == 0


# One step of a history: what a platform (or an operator with psql) might do to messages.
message = st.fixed_dictionaries(
    {
        "op": st.sampled_from(
            ["insert", "insert", "insert", "batch", "soft_delete", "archive", "reprice", "delete", "fold"]
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
            text(
                "TRUNCATE chat_spend_daily_folded, chat_spend_period_totals_folded, chat_spend_journal, "
                "chat_messages, chats, users, organizations CASCADE"
            )
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
            if op == "fold":
                # Folds between writes: what a server's folder does at any moment.
                await assert_folds_exactly(conn)
            elif op == "insert" or (target is None and op != "batch"):
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
        await assert_folds_exactly(conn)
        assert await rows(conn, ROLLUP) == await rows(conn, RAW)


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


async def test_rollup_is_exact_under_16_concurrent_writers_of_one_user_and_a_folder(
    engine: AsyncEngine, database_url: str
) -> None:
    """16 sessions record (and some delete) messages of one user on one day at once while a folder
    folds the journal in a loop: the rollup and the period totals still equal the raw sum, and no
    fold failed (a fold that took a decrease without its increase would break the folded rows'
    CHECK) or took a row twice."""
    import asyncio
    import random

    from tests.conftest import plain
    from tests.limits.factories import LimitFactory

    make = LimitFactory(engine)
    org = await make.organization("acme")
    user = await make.user("alice", organizations=(org,))
    chats = [await make.chat(user, org) for _ in range(4)]
    day = datetime(2025, 6, 15, 12, tzinfo=UTC)
    writing = True
    folds: list[int] = []

    async def writer(seed: int) -> None:
        rng = random.Random(seed)
        conn = await asyncpg.connect(plain(database_url))
        try:
            for _ in range(25):
                ids = await conn.fetch(
                    """
                    INSERT INTO chat_messages (chat_id, role, total_cost_micros, created_at)
                    SELECT $1, 'assistant', c, $2 FROM unnest($3::bigint[]) AS c RETURNING id
                    """,
                    rng.choice(chats),
                    day,
                    [rng.randrange(0, 10_000) for _ in range(rng.randrange(1, 4))],
                )
                if rng.random() < 0.3:
                    # A hard delete or a lowered cost: a negative journal row, folded with the rest.
                    if rng.random() < 0.5:
                        await conn.execute("DELETE FROM chat_messages WHERE id = $1", ids[0]["id"])
                    else:
                        await conn.execute(
                            "UPDATE chat_messages SET total_cost_micros = total_cost_micros / 2 WHERE id = $1",
                            ids[0]["id"],
                        )
        finally:
            await conn.close()

    async def folder() -> None:
        conn = await asyncpg.connect(plain(database_url))
        try:
            while writing:
                moved = await conn.fetchval("SELECT spendlimits_fold_spend_journal()")
                folds.append(moved)
                await asyncio.sleep(0.005)
        finally:
            await conn.close()

    folding = asyncio.create_task(folder())
    await asyncio.gather(*(writer(seed) for seed in range(WRITERS)))
    writing = False
    await folding
    assert sum(f for f in folds if f) > 0  # the folder moved rows while the writers wrote
    async with engine.begin() as conn:
        assert await rows(conn, ROLLUP) == await rows(conn, RAW)
        await assert_totals_follow_the_rollup(conn)
        await assert_folds_exactly(conn)
        folded = await conn.execute(
            text(
                "SELECT user_id, organization_id, day, spend_micros FROM chat_spend_daily_folded WHERE spend_micros <> 0"
            )
        )
        assert {tuple(r) for r in folded} == await rows(conn, RAW)


async def test_concurrent_one_row_writers_of_one_user_do_not_wait_for_each_other(
    engine: AsyncEngine, database_url: str
) -> None:
    """Two one-message INSERTs of one user, in open transactions of two sessions: the second does
    not wait for the first to commit (each writes its message alone; no rollup row is shared), and
    both count once committed, unfolded until a fold."""
    from tests.conftest import plain
    from tests.limits.factories import LimitFactory

    make = LimitFactory(engine)
    org = await make.organization("acme")
    user = await make.user("alice", organizations=(org,))
    chat = await make.chat(user, org)
    first = await asyncpg.connect(plain(database_url))
    second = await asyncpg.connect(plain(database_url))
    insert = "INSERT INTO chat_messages (chat_id, role, total_cost_micros) VALUES ($1, 'assistant', $2)"
    try:
        async with first.transaction(), second.transaction():
            await first.execute(insert, chat, 5)
            # Waiting for the first transaction's row locks would run into this and fail the test.
            await second.execute("SET LOCAL lock_timeout = '2s'")
            await second.execute(insert, chat, 7)
    finally:
        await first.close()
        await second.close()
    async with engine.begin() as conn:
        unfolded = await conn.execute(text("SELECT delta_micros FROM chat_spend_unfolded ORDER BY 1"))
        assert [r.delta_micros for r in unfolded] == [5, 7]
        assert await conn.scalar(text("SELECT count(*) FROM chat_spend_journal")) == 0
        assert await rows(conn, ROLLUP) == await rows(conn, RAW)
        await assert_totals_follow_the_rollup(conn)
        await assert_folds_exactly(conn)


async def test_one_folder_at_a_time(engine: AsyncEngine, database_url: str) -> None:
    """While one session folds, another's fold returns NULL at once instead of queueing on the
    same rows; the rows stay for the next fold."""
    from tests.conftest import plain
    from tests.limits.factories import LimitFactory

    make = LimitFactory(engine)
    org = await make.organization("acme")
    user = await make.user("alice", organizations=(org,))
    chat = await make.chat(user, org)
    async with engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO chat_messages (chat_id, role, total_cost_micros) VALUES (:c, 'assistant', 9)"),
            {"c": chat},
        )
    first = await asyncpg.connect(plain(database_url))
    second = await asyncpg.connect(plain(database_url))
    try:
        async with first.transaction():
            assert await first.fetchval("SELECT spendlimits_fold_spend_journal()") == 1
            await second.execute("SET lock_timeout = '2s'")
            assert await second.fetchval("SELECT spendlimits_fold_spend_journal()") is None
        assert await second.fetchval("SELECT spendlimits_fold_spend_journal()") == 0
        assert await second.fetchval("SELECT sum(spend_micros) FROM chat_spend_daily_folded") == 9
    finally:
        await first.close()
        await second.close()


async def test_the_rankings_bound_is_the_databases(engine: AsyncEngine) -> None:
    """The ranking's threshold scan bounds a user it has not seen (and who has no journal rows) by
    the lowest folded row it read: exact only while a user has at most one folded row per period,
    which the folded table's primary key enforces."""
    async with engine.connect() as conn:
        key = await conn.scalar(
            text(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE contype = 'p' AND conrelid = 'chat_spend_period_totals_folded'::regclass"
            )
        )
    assert key == "PRIMARY KEY (period, period_start, user_id) INCLUDE (spend_micros)"
