"""Property: the rollup-based spend functions answer exactly what the raw sum over messages does.

tests/db/test_rollup.py proves the rollup table equals the raw per-day sums. This goes one level up,
to the functions the check and status call: for random histories (backdated inserts, batches,
soft and hard deletes, archived and sub-agent chats, several organizations and users), ``spend``
and ``statuses`` agree with ``raw_spend`` for every period, every scope and instants all over the
history.
"""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from spendlimits.limits.periods import Period, period_bounds
from spendlimits.limits.resolution import LimitSource
from spendlimits.limits.status import statuses
from tests.limits.spend_reads import raw_spend, spend

EPOCH = datetime(2025, 1, 27, tzinfo=UTC)
#: About 70 days: crosses day, week (Mondays) and month boundaries.
SPAN_MINUTES = 70 * 24 * 60
USERS, ORGANIZATIONS = 3, 2

step = st.fixed_dictionaries(
    {
        "op": st.sampled_from(
            ["insert", "insert", "insert", "batch", "soft_delete", "archive", "rewrite", "delete"]
        ),
        "user": st.integers(0, USERS - 1),
        "org": st.integers(0, ORGANIZATIONS - 1),
        "child": st.booleans(),
        "minute": st.integers(0, SPAN_MINUTES),
        "cost": st.one_of(st.none(), st.integers(0, 5_000_000)),
        "pick": st.integers(0, 10_000),
    }
)


async def build_world(conn: AsyncConnection) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    """Fresh users in two fresh organizations (earlier examples' rows stay, untouched by these
    users' queries); user 0 has a group limit in organization 0 only, so that a status asked about
    organization 0 is GROUP-scoped and one about organization 1 is not."""
    tag = uuid.uuid4().hex[:12]
    orgs = [
        await conn.scalar(
            text("INSERT INTO organizations (name) VALUES (:n) RETURNING id"), {"n": f"o{i}-{tag}"}
        )
        for i in range(ORGANIZATIONS)
    ]
    users = [
        await conn.scalar(text("INSERT INTO users (username) VALUES (:n) RETURNING id"), {"n": f"u{i}-{tag}"})
        for i in range(USERS)
    ]
    await conn.execute(
        text(
            "INSERT INTO organization_members (organization_id, user_id) SELECT o, u FROM unnest(CAST(:o AS uuid[])) o, unnest(CAST(:u AS uuid[])) u"
        ),
        {"o": orgs, "u": users},
    )
    group = await conn.scalar(
        text(
            "INSERT INTO groups (organization_id, name, chat_spend_limit_micros) VALUES (:o, 'g', 5) RETURNING id"
        ),
        {"o": orgs[0]},
    )
    await conn.execute(
        text("INSERT INTO group_members (group_id, user_id) VALUES (:g, :u)"), {"g": group, "u": users[0]}
    )
    return users, orgs


async def play(
    conn: AsyncConnection, history: list[dict[str, Any]], users: list[uuid.UUID], orgs: list[uuid.UUID]
) -> list[datetime]:
    """Applies the history; returns the instants it touched."""
    parents = {}
    for u, user in enumerate(users):
        for o, org in enumerate(orgs):
            parents[(u, o)] = await conn.scalar(
                text("INSERT INTO chats (owner_id, organization_id) VALUES (:u, :o) RETURNING id"),
                {"u": user, "o": org},
            )
    instants = []
    for move in history:
        chat = parents[(move["user"], move["org"])]
        if move["child"]:
            chat = await conn.scalar(
                text(
                    "INSERT INTO chats (owner_id, organization_id, parent_chat_id) VALUES (:u, :o, :p) RETURNING id"
                ),
                {"u": users[move["user"]], "o": orgs[move["org"]], "p": chat},
            )
        at = EPOCH + timedelta(minutes=move["minute"])
        instants.append(at)
        existing = (await conn.execute(text("SELECT id FROM chat_messages ORDER BY id"))).scalars().all()
        target = existing[move["pick"] % len(existing)] if existing else None
        op = move["op"]
        params = {"c": chat, "cost": move["cost"], "at": at, "id": target}
        if op == "insert" or (target is None and op != "batch"):
            await conn.execute(
                text(
                    "INSERT INTO chat_messages (chat_id, role, total_cost_micros, created_at) VALUES (:c, 'assistant', :cost, :at)"
                ),
                params,
            )
        elif op == "batch":
            await conn.execute(
                text(
                    """
                    INSERT INTO chat_messages (chat_id, role, total_cost_micros, created_at)
                    SELECT CAST(:c AS uuid), 'assistant', CAST(:cost AS bigint),
                           CAST(:at AS timestamptz) + make_interval(hours => g * 13)
                    FROM generate_series(0, 5) g
                    """
                ),
                params,
            )
        elif op == "soft_delete":
            await conn.execute(text("UPDATE chat_messages SET deleted = true WHERE id = :id"), params)
        elif op == "archive":
            await conn.execute(text("UPDATE chats SET archived = true WHERE id = :c"), params)
        elif op == "rewrite":
            await conn.execute(
                text("UPDATE chat_messages SET total_cost_micros = :cost, created_at = :at WHERE id = :id"),
                params,
            )
        else:
            await conn.execute(text("DELETE FROM chat_messages WHERE id = :id"), params)
    return instants


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    history=st.lists(step, min_size=1, max_size=25),
    probes=st.lists(st.integers(-2 * 24 * 60, SPAN_MINUTES + 2 * 24 * 60), min_size=1, max_size=2),
)
async def test_rollup_spend_equals_the_raw_sum_for_every_period_and_scope(
    engine: AsyncEngine, history: list[dict[str, Any]], probes: list[int]
) -> None:
    async with engine.begin() as conn:
        users, orgs = await build_world(conn)
        touched = await play(conn, history, users, orgs)
        # Instants the history wrote at, plus arbitrary ones (before, inside and after it).
        instants = touched[:2] + [EPOCH + timedelta(minutes=m) for m in probes]
        scopes: list[uuid.UUID | None] = [None, *orgs]

        for period in Period:
            await conn.execute(
                text(
                    "UPDATE chat_usage_limit_config SET enabled = true, default_limit_micros = 1000, period = :p"
                ),
                {"p": period.value},
            )
            keys = [(user, scope, at) for user in users for scope in scopes for at in instants]
            found = await statuses(conn, keys, now=EPOCH)
            raw: dict[tuple[uuid.UUID, uuid.UUID | None, datetime], int] = {}
            for user, scope, at in keys:
                start, end = period_bounds(period, at)
                for counted in {scope, None}:
                    if (user, counted, start) not in raw:
                        raw[(user, counted, start)] = await raw_spend(conn, user, start, end, counted)
                assert await spend(conn, user, start, end, scope) == raw[(user, scope, start)]
                # The status applies spec section 4's scoping: the organization only for a GROUP limit.
                status = found[(user, scope, at)]
                counted = scope if status.limit.source is LimitSource.GROUP else None
                assert status.spend_micros == raw[(user, counted, start)]
                assert (status.period_start, status.period_end) == (start, end)
