"""The database keeps a live owner whoever writes (migration 000004), and keeps it under races."""

import asyncio
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.auth.principal import Role
from spendlimits.directory.users import delete_user, update_user
from spendlimits.errors import DomainError
from tests.directory.factories import Factory


async def owners(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(
            await conn.scalar(text("SELECT count(*) FROM users WHERE role = 'owner' AND NOT deleted")) or 0
        )


@pytest.mark.parametrize(
    "change",
    [
        "UPDATE users SET role = 'auditor' WHERE id = :id",
        "UPDATE users SET deleted = true WHERE id = :id",
        "DELETE FROM users WHERE id = :id",
    ],
)
async def test_no_writer_can_take_away_the_last_owner(engine: AsyncEngine, change: str) -> None:
    owner = await Factory(engine).user("root", role="owner")
    with pytest.raises(IntegrityError, match="the last owner cannot be deleted or demoted"):
        async with engine.begin() as conn:
            await conn.execute(text(change), {"id": owner})
    assert await owners(engine) == 1


async def test_a_deployment_without_owners_can_still_delete_members(engine: AsyncEngine) -> None:
    member = await Factory(engine).user("m")
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE users SET deleted = true WHERE id = :id"), {"id": member})
    assert await owners(engine) == 0


async def test_the_domain_reports_last_owner(engine: AsyncEngine) -> None:
    owner = await Factory(engine).user("root", role="owner")
    for attempt in (lambda c: delete_user(c, owner), lambda c: update_user(c, owner, role=Role.MEMBER)):
        with pytest.raises(DomainError) as caught:
            async with engine.begin() as conn:
                await attempt(conn)
        assert (caught.value.code, caught.value.field) == ("LAST_OWNER", ["input", "userId"])
    assert await owners(engine) == 1


async def test_the_second_of_two_concurrent_demotions_waits_then_is_refused(engine: AsyncEngine) -> None:
    make = Factory(engine)
    first, second = await make.user("first", role="owner"), await make.user("second", role="owner")
    async with engine.connect() as one, engine.connect() as two:
        await one.begin()
        await update_user(one, first, role=Role.MEMBER)  # not committed yet
        await two.begin()
        racing = asyncio.ensure_future(update_user(two, second, role=Role.MEMBER))
        done, _ = await asyncio.wait({racing}, timeout=0.5)
        # Counting `first` as an owner (its demotion is not committed yet) would let both pass.
        assert not done, "the second demotion must wait for the first transaction"
        await one.commit()
        with pytest.raises(DomainError) as caught:
            await racing
        assert caught.value.code == "LAST_OWNER"
        await two.rollback()
    assert await owners(engine) == 1


async def test_a_repeatable_read_snapshot_cannot_count_a_demoted_owner(engine: AsyncEngine) -> None:
    make = Factory(engine)
    first, second = await make.user("first", role="owner"), await make.user("second", role="owner")
    async with engine.connect() as two:
        await two.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        # The snapshot is taken here, while both are owners.
        assert await two.scalar(text("SELECT count(*) FROM users WHERE role = 'owner'")) == 2
        async with engine.begin() as one:
            await update_user(one, first, role=Role.MEMBER)
        with pytest.raises(DBAPIError, match="could not serialize access"):
            await update_user(two, second, role=Role.MEMBER)
        await two.rollback()
    assert await owners(engine) == 1


async def test_update_user_of_an_unknown_or_deleted_user_is_not_found(engine: AsyncEngine) -> None:
    gone = await Factory(engine).user("gone", deleted=True)
    for user_id in (gone, uuid.uuid4()):
        with pytest.raises(DomainError) as caught:
            async with engine.begin() as conn:
                await update_user(conn, user_id, name="x")
        assert caught.value.code == "USER_NOT_FOUND"
