"""The user and group lists are O(page): keyset cursors through an index, totalCount only when
selected and then read from a count that triggers keep (migration 000007)."""

import base64
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits import metrics
from spendlimits.directory.users import count_users, users_page
from tests.conftest import GraphQLClient

USERS = """
query ($first: Int, $after: String, $deleted: Boolean = false, $search: String) {
  users(first: $first, after: $after, includeDeleted: $deleted, search: $search) {
    nodes { username }
    pageInfo { hasNextPage endCursor }
  }
}
"""
USERS_WITH_TOTAL = """
query ($first: Int) { users(first: $first) { nodes { username } ...total } }
fragment total on UserConnection { totalCount }
"""
GROUPS = """
query ($first: Int, $after: String) {
  groups(first: $first, after: $after) { nodes { name } pageInfo { hasNextPage endCursor } totalCount }
}
"""


async def add_users(engine: AsyncEngine, count: int, prefix: str = "bulk") -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO users (username) SELECT :p || lpad(g::text, 6, '0') FROM generate_series(1, :n) g"
            ),
            {"p": prefix, "n": count},
        )


async def true_counts(engine: AsyncEngine) -> tuple[int, int, int, int]:
    """(maintained live, maintained all, counted live, counted all)."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    """
                    SELECT (SELECT n FROM directory_counts WHERE name = 'users'),
                           (SELECT n FROM directory_counts WHERE name = 'users_all'),
                           (SELECT count(*) FROM users WHERE NOT deleted),
                           (SELECT count(*) FROM users)
                    """
                )
            )
        ).one()
    return int(row[0]), int(row[1]), int(row[2]), int(row[3])


async def walk(client: GraphQLClient, first: int, **variables: Any) -> list[str]:
    seen: list[str] = []
    after = None
    while True:
        page = (await client.data(USERS, {"first": first, "after": after, **variables}))["users"]
        seen += [n["username"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            assert len(page["nodes"]) <= first
            return seen
        after = page["pageInfo"]["endCursor"]


async def test_keyset_pages_list_every_user_once_in_order(
    as_owner: GraphQLClient, engine: AsyncEngine
) -> None:
    await add_users(engine, 23)
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE users SET deleted = true WHERE username IN ('bulk000005', 'bulk000017')")
        )
    async with engine.connect() as conn:
        live = list(
            (
                await conn.execute(text("SELECT username FROM users WHERE NOT deleted ORDER BY username, id"))
            ).scalars()
        )
        every = list((await conn.execute(text("SELECT username FROM users ORDER BY username, id"))).scalars())
    assert await walk(as_owner, 4) == live
    assert await walk(as_owner, 7, deleted=True) == every
    assert await walk(as_owner, 3, search="BULK00001") == [u for u in live if u.startswith("bulk00001")]


async def test_an_offset_cursor_of_an_earlier_release_still_pages(
    as_owner: GraphQLClient, engine: AsyncEngine
) -> None:
    await add_users(engine, 12)
    old_cursor = base64.urlsafe_b64encode(b"offset:5").decode()
    everyone = await walk(as_owner, 50)
    page = (await as_owner.data(USERS, {"first": 3, "after": old_cursor}))["users"]
    assert [n["username"] for n in page["nodes"]] == everyone[5:8]
    # The page answers with a keyset cursor, which continues where the offset page ended.
    rest = (await as_owner.data(USERS, {"first": 50, "after": page["pageInfo"]["endCursor"]}))["users"]
    assert [n["username"] for n in rest["nodes"]] == everyone[8:]


async def test_a_forged_cursor_is_bad_user_input(as_owner: GraphQLClient) -> None:
    forged = base64.urlsafe_b64encode(b'key:["a","not-a-uuid"]').decode()
    body = await as_owner.execute(USERS, {"first": 3, "after": forged})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def statements() -> float:
    return float(metrics.SQL_STATEMENTS._value.get())


async def test_total_count_costs_a_statement_only_when_selected(
    as_owner: GraphQLClient, engine: AsyncEngine
) -> None:
    await add_users(engine, 30)
    before = statements()
    await as_owner.data(USERS, {"first": 10})
    without = statements() - before
    before = statements()
    data = await as_owner.data(USERS_WITH_TOTAL, {"first": 10})
    with_total = statements() - before
    assert (without, with_total) == (2, 3)  # the token, the page (, the count)
    maintained, _, counted, _ = await true_counts(engine)
    assert data["users"]["totalCount"] == maintained == counted


async def test_the_maintained_counts_follow_every_kind_of_write(engine: AsyncEngine) -> None:
    start = await true_counts(engine)
    assert start[:2] == start[2:]
    await add_users(engine, 40)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE users SET deleted = true WHERE username LIKE 'bulk00001%'"))
        await conn.execute(text("UPDATE users SET name = 'renamed' WHERE username LIKE 'bulk00002%'"))
        await conn.execute(text("UPDATE users SET deleted = false WHERE username = 'bulk000011'"))
        await conn.execute(text("DELETE FROM users WHERE username LIKE 'bulk00003%'"))
    after = await true_counts(engine)
    assert after[:2] == after[2:]
    assert after[3] == start[3] + 40 - 10
    async with engine.connect() as conn:
        assert await count_users(conn) == after[2]
        assert await count_users(conn, include_deleted=True) == after[3]
        assert await count_users(conn, search="bulk00001") == 1
    # A rolled-back write leaves the counts as they were.
    async with engine.connect() as conn:
        await conn.execute(text("INSERT INTO users (username) VALUES ('gone')"))
        await conn.rollback()
    assert await true_counts(engine) == after


async def test_the_page_statement_reads_the_index_not_the_directory(engine: AsyncEngine) -> None:
    await add_users(engine, 5000)
    async with engine.begin() as conn:
        await conn.execute(text("ANALYZE users"))
    async with engine.connect() as conn:
        first = await users_page(conn, limit=10)
        last = first.items[-1]
        plan = "\n".join(
            (
                await conn.execute(
                    text(
                        "EXPLAIN SELECT id FROM users WHERE NOT deleted AND (username, id) > (:n, CAST(:i AS uuid))"
                        " ORDER BY username, id LIMIT 11"
                    ),
                    {"n": last.username, "i": last.id},
                )
            ).scalars()
        )
        second = await users_page(conn, limit=10, after=(last.username, last.id))
    assert "Index Scan using users_list_" in plan, plan
    assert "Sort" not in plan, plan
    assert first.has_more and second.has_more
    assert [u.username for u in second.items] == [f"bulk{n:06d}" for n in range(11, 21)]


async def test_groups_page_by_keyset_with_their_total(as_owner: GraphQLClient, engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO organizations (name) VALUES ('acme')"))
        await conn.execute(
            text(
                "INSERT INTO groups (organization_id, name) SELECT o.id, 'g' || lpad(g::text, 3, '0')"
                " FROM organizations o, generate_series(1, 9) g"
            )
        )
        names = list((await conn.execute(text("SELECT name FROM groups ORDER BY name, id"))).scalars())
    seen: list[str] = []
    after = None
    while True:
        page = (await as_owner.data(GROUPS, {"first": 4, "after": after}))["groups"]
        assert page["totalCount"] == len(names)
        seen += [n["name"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == names
