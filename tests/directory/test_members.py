"""Membership writes racing removals: no group member is ever left outside its organization."""

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from spendlimits.directory.groups import Group, create_group
from spendlimits.directory.members import (
    add_group_members,
    join_organizations,
    remove_organization_member,
)
from spendlimits.directory.organizations import create_organization
from spendlimits.directory.users import User, delete_user
from spendlimits.errors import DomainError
from tests.conftest import make_user


@pytest.fixture
async def member_and_group(engine: AsyncEngine) -> tuple[User, Group]:
    ada = await make_user(engine, username="ada")
    async with engine.begin() as conn:
        organization = await create_organization(conn, name="acme")
        await join_organizations(conn, ada.id, [organization.id], ["organizationIds"])
        group = await create_group(conn, organization_id=organization.id, name="eng")
    return ada, group


async def wait_until_blocked_on_a_lock(engine: AsyncEngine, task: "asyncio.Task[object]") -> None:
    """Returns once some other session of this database waits for a lock (or the task ended early)."""
    async with engine.connect() as conn:
        while not task.done():
            waiting = await conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock'"
                )
            )
            if waiting:
                return
            # pg_stat_activity is read once per transaction: end it so the next poll sees anew.
            await conn.rollback()
            await asyncio.sleep(0.005)
    raise AssertionError(f"the concurrent write never waited for a lock: {task.exception()!r}")


async def group_member_count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(text("SELECT count(*) FROM group_members")) or 0)


Removal = Callable[[AsyncConnection, User, Group], Awaitable[object]]


async def _delete(conn: AsyncConnection, user: User, _: Group) -> object:
    return await delete_user(conn, user.id)


async def _leave(conn: AsyncConnection, user: User, group: Group) -> object:
    return await remove_organization_member(conn, group.organization_id, user.id)


@pytest.mark.parametrize("removal", [_delete, _leave], ids=["delete-user", "leave-organization"])
async def test_a_removal_waiting_on_an_addition_removes_what_it_added(
    engine: AsyncEngine, member_and_group: tuple[User, Group], removal: Removal
) -> None:
    user, group = member_and_group
    async with engine.connect() as adding:
        transaction = await adding.begin()
        change = await add_group_members(adding, group.id, [user.id])
        assert change.changed == 1

        async def remove() -> object:
            async with engine.begin() as conn:
                return await removal(conn, user, group)

        removing = asyncio.create_task(remove())
        await wait_until_blocked_on_a_lock(engine, removing)
        await transaction.commit()
        await removing
    assert await group_member_count(engine) == 0


@pytest.mark.parametrize("removal", [_delete, _leave], ids=["delete-user", "leave-organization"])
async def test_an_addition_waiting_on_a_removal_fails_cleanly(
    engine: AsyncEngine, member_and_group: tuple[User, Group], removal: Removal
) -> None:
    user, group = member_and_group
    async with engine.connect() as removing:
        transaction = await removing.begin()
        await removal(removing, user, group)

        async def add() -> object:
            async with engine.begin() as conn:
                return await add_group_members(conn, group.id, [user.id])

        adding = asyncio.create_task(add())
        await wait_until_blocked_on_a_lock(engine, adding)
        await transaction.commit()
        with pytest.raises(DomainError) as refused:
            await adding
    assert refused.value.code in ("USER_NOT_FOUND", "INVALID_INPUT")
    assert await group_member_count(engine) == 0
