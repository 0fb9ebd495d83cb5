"""User and group overrides and their admin lists (spec sections 6 and 11), called directly."""

import uuid
from collections.abc import Awaitable, Callable
from functools import partial

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from spendlimits.errors import DomainError
from spendlimits.limits.config import update_config
from spendlimits.limits.overrides import (
    delete_group_override,
    delete_user_override,
    list_group_overrides,
    list_user_overrides,
    upsert_group_override,
    upsert_user_override,
)
from spendlimits.limits.periods import Period
from tests.limits.factories import DOLLAR, LimitFactory


@pytest.fixture
def make(engine: AsyncEngine) -> LimitFactory:
    return LimitFactory(engine)


async def failure(engine: AsyncEngine, work: Callable[[AsyncConnection], Awaitable[object]]) -> DomainError:
    """The DomainError a write raises inside a transaction."""
    with pytest.raises(DomainError) as raised:
        async with engine.begin() as conn:
            await work(conn)
    return raised.value


@pytest.mark.parametrize("value", [None, 0, -5])
async def test_a_user_override_must_be_greater_than_zero_even_for_a_missing_user(
    engine: AsyncEngine, make: LimitFactory, value: int | None
) -> None:
    user = await make.user("alice")
    for target in (user, uuid.uuid4()):
        error = await failure(engine, partial(upsert_user_override, user_id=target, spend_limit_micros=value))
        assert (error.code, error.message, error.field) == (
            "INVALID_SPEND_LIMIT",
            "Spend limit must be greater than 0.",
            ["input", "spendLimitMicros"],
        )


async def test_an_unknown_or_deleted_user_is_not_found_on_upsert_and_delete(
    engine: AsyncEngine, make: LimitFactory
) -> None:
    deleted = await make.user("gone")
    await make.user_override(deleted, DOLLAR)
    await make.delete_user(deleted)
    for target in (uuid.uuid4(), deleted):
        upsert = await failure(
            engine, partial(upsert_user_override, user_id=target, spend_limit_micros=DOLLAR)
        )
        delete = await failure(engine, partial(delete_user_override, user_id=target))
        assert (upsert.code, upsert.field) == ("USER_NOT_FOUND", ["input", "userId"])
        assert (delete.code, delete.field) == ("USER_NOT_FOUND", ["input", "userId"])


async def test_deleting_a_missing_user_override_says_so(engine: AsyncEngine, make: LimitFactory) -> None:
    user = await make.user("alice")
    error = await failure(engine, lambda conn: delete_user_override(conn, user))
    assert (error.code, error.message) == ("OVERRIDE_NOT_FOUND", "Chat usage limit override not found.")


async def test_a_second_upsert_replaces_the_first(engine: AsyncEngine, make: LimitFactory) -> None:
    user = await make.user("alice")
    async with engine.begin() as conn:
        await upsert_user_override(conn, user, 5_000_000)
        replaced = await upsert_user_override(conn, user, 10_000_000)
    async with engine.connect() as conn:
        page = await list_user_overrides(conn, limit=10, offset=0)
    assert replaced.spend_limit_micros == replaced.user.chat_spend_limit_micros == 10_000_000
    assert [(o.user.id, o.spend_limit_micros) for o in page.items] == [(user, 10_000_000)]
    assert page.total_count == 1


async def test_a_deleted_user_override_is_gone_from_the_list(engine: AsyncEngine, make: LimitFactory) -> None:
    user = await make.user("alice")
    await make.user_override(user, DOLLAR)
    async with engine.begin() as conn:
        assert await delete_user_override(conn, user) == user
    async with engine.connect() as conn:
        assert (await list_user_overrides(conn, limit=10, offset=0)).total_count == 0


async def test_user_overrides_are_listed_by_username_in_pages_without_deleted_users(
    engine: AsyncEngine, make: LimitFactory
) -> None:
    for name in ("dave", "alice", "carol", "bob", "erin"):
        await make.user_override(await make.user(name), DOLLAR)
    await make.user("frank")
    gone = await make.user("aaron")
    await make.user_override(gone, DOLLAR)
    await make.delete_user(gone)
    async with engine.connect() as conn:
        first = await list_user_overrides(conn, limit=2, offset=0)
        second = await list_user_overrides(conn, limit=2, offset=2)
        last = await list_user_overrides(conn, limit=2, offset=4)
        beyond = await list_user_overrides(conn, limit=2, offset=6)
    pages = [first, second, last, beyond]
    assert [[o.user.username for o in p.items] for p in pages] == [
        ["alice", "bob"],
        ["carol", "dave"],
        ["erin"],
        [],
    ]
    assert {p.total_count for p in pages} == {5}


async def test_group_overrides_validate_before_looking_the_group_up(engine: AsyncEngine) -> None:
    error = await failure(engine, lambda conn: upsert_group_override(conn, uuid.uuid4(), 0))
    assert error.code == "INVALID_SPEND_LIMIT"


async def test_an_unknown_group_is_not_found_on_upsert_and_delete(engine: AsyncEngine) -> None:
    unknown = uuid.uuid4()
    upsert = await failure(engine, lambda conn: upsert_group_override(conn, unknown, DOLLAR))
    delete = await failure(engine, lambda conn: delete_group_override(conn, unknown))
    assert (upsert.code, upsert.message, upsert.field) == (
        "GROUP_NOT_FOUND",
        "Group not found.",
        ["input", "groupId"],
    )
    assert delete.code == "GROUP_NOT_FOUND"


async def test_deleting_a_missing_group_override_says_so(engine: AsyncEngine, make: LimitFactory) -> None:
    group = await make.group(await make.organization("acme"), "team")
    error = await failure(engine, lambda conn: delete_group_override(conn, group))
    assert (error.code, error.message) == ("OVERRIDE_NOT_FOUND", "Chat usage limit group override not found.")


async def test_group_overrides_are_listed_by_name_then_id_across_organizations(
    engine: AsyncEngine, make: LimitFactory
) -> None:
    one, two = await make.organization("one"), await make.organization("two")
    await make.group(one, "unlimited")
    expected = []
    async with engine.begin() as conn:
        for org, name in ((one, "zeta"), (two, "alpha"), (one, "alpha"), (one, "Everyone")):
            group_id = org if name == "Everyone" else await make.group(org, name)
            expected.append((name, group_id))
            await upsert_group_override(conn, group_id, 3 * DOLLAR)
    async with engine.connect() as conn:
        page = await list_group_overrides(conn, limit=3, offset=0)
        rest = await list_group_overrides(conn, limit=3, offset=3)
    listed = [(o.group.name, o.group.id) for o in page.items + rest.items]
    assert listed == sorted(expected, key=lambda e: (e[0], e[1]))
    assert (page.total_count, len(page.items), len(rest.items)) == (4, 3, 1)


async def test_disabling_limits_keeps_overrides_stored(engine: AsyncEngine, make: LimitFactory) -> None:
    org = await make.organization("acme")
    user = await make.user("alice", organizations=(org,))
    async with engine.begin() as conn:
        await update_config(conn, spend_limit_micros=DOLLAR, period=Period.DAY)
        await upsert_user_override(conn, user, 2 * DOLLAR)
        await upsert_group_override(conn, org, 3 * DOLLAR)
        await update_config(conn, spend_limit_micros=None, period=None)
    async with engine.connect() as conn:
        users = await list_user_overrides(conn, limit=10, offset=0)
        groups = await list_group_overrides(conn, limit=10, offset=0)
    assert [o.spend_limit_micros for o in users.items] == [2 * DOLLAR]
    assert [o.spend_limit_micros for o in groups.items] == [3 * DOLLAR]
