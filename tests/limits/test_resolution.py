"""The hierarchy of spec section 3, called directly on a real database."""

import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.limits.periods import Period
from spendlimits.limits.resolution import EffectiveLimit, LimitSource, effective_limit, effective_limits
from tests.limits.factories import DOLLAR, LimitFactory


@pytest.fixture
def make(engine: AsyncEngine) -> LimitFactory:
    return LimitFactory(engine)


async def resolve(
    engine: AsyncEngine, user_id: uuid.UUID, organization_id: uuid.UUID | None = None
) -> EffectiveLimit:
    async with engine.connect() as conn:
        limit = await effective_limit(conn, user_id, organization_id)
    assert limit is not None
    return limit


async def test_a_fresh_install_is_disabled_and_overrides_do_not_apply(
    engine: AsyncEngine, make: LimitFactory
) -> None:
    org = await make.organization("acme")
    user = await make.user("alice", organizations=(org,))
    await make.user_override(user, 10 * DOLLAR)
    await make.limited_group(org, "small", 1 * DOLLAR, members=(user,))
    limit = await resolve(engine, user)
    assert limit.source is LimitSource.DISABLED
    assert (limit.limit_micros, limit.group_id, limit.period) == (None, None, None)


async def test_the_default_applies_without_overrides(engine: AsyncEngine, make: LimitFactory) -> None:
    await make.enable(100 * DOLLAR, Period.WEEK)
    user = await make.user("alice")
    limit = await resolve(engine, user)
    assert (limit.source, limit.limit_micros, limit.period, limit.group_id) == (
        LimitSource.DEFAULT,
        100 * DOLLAR,
        Period.WEEK,
        None,
    )


async def test_a_user_override_wins_even_above_groups_and_the_default(
    engine: AsyncEngine, make: LimitFactory
) -> None:
    await make.enable(100 * DOLLAR)
    org = await make.organization("acme")
    user = await make.user("alice", organizations=(org,))
    await make.limited_group(org, "small", 5 * DOLLAR, members=(user,))
    await make.user_override(user, 500 * DOLLAR)
    limit = await resolve(engine, user)
    assert (limit.source, limit.limit_micros, limit.group_id) == (LimitSource.USER, 500 * DOLLAR, None)


async def test_the_lowest_group_limit_wins_even_above_the_default(
    engine: AsyncEngine, make: LimitFactory
) -> None:
    await make.enable(10 * DOLLAR)
    org = await make.organization("acme")
    user = await make.user("alice", organizations=(org,))
    await make.limited_group(org, "big", 200 * DOLLAR, members=(user,))
    cheaper = await make.limited_group(org, "bigger-but-cheaper", 150 * DOLLAR, members=(user,))
    await make.group(org, "no-limit", members=(user,))
    limit = await resolve(engine, user)
    assert (limit.source, limit.limit_micros, limit.group_id) == (LimitSource.GROUP, 150 * DOLLAR, cheaper)


async def test_the_everyone_group_counts_as_one_of_the_users_groups(
    engine: AsyncEngine, make: LimitFactory
) -> None:
    await make.enable(100 * DOLLAR)
    org = await make.organization("acme")
    user = await make.user("alice", organizations=(org,))
    await make.group_override(org, 7 * DOLLAR)  # the Everyone group has the organization's id
    limit = await resolve(engine, user)
    assert (limit.source, limit.limit_micros, limit.group_id) == (LimitSource.GROUP, 7 * DOLLAR, org)


async def test_equal_group_limits_go_to_the_smallest_group_name(
    engine: AsyncEngine, make: LimitFactory
) -> None:
    await make.enable(100 * DOLLAR)
    org = await make.organization("acme")
    user = await make.user("alice", organizations=(org,))
    await make.limited_group(org, "zeta", 5 * DOLLAR, members=(user,))
    alpha = await make.limited_group(org, "alpha", 5 * DOLLAR, members=(user,))
    assert (await resolve(engine, user)).group_id == alpha


async def test_equal_group_limits_and_names_go_to_the_smallest_id(
    engine: AsyncEngine, make: LimitFactory
) -> None:
    await make.enable(100 * DOLLAR)
    one, two = await make.organization("one"), await make.organization("two")
    user = await make.user("alice", organizations=(one, two))
    first = await make.limited_group(one, "team", 5 * DOLLAR, members=(user,))
    second = await make.limited_group(two, "team", 5 * DOLLAR, members=(user,))
    assert (await resolve(engine, user)).group_id == min(first, second)


async def test_a_deleted_user_belongs_to_no_group(engine: AsyncEngine, make: LimitFactory) -> None:
    await make.enable(100 * DOLLAR)
    org = await make.organization("acme")
    user = await make.user("alice", organizations=(org,))
    await make.limited_group(org, "small", 5 * DOLLAR, members=(user,))
    await make.group_override(org, 6 * DOLLAR)
    await make.delete_user(user)
    limit = await resolve(engine, user)
    assert (limit.source, limit.limit_micros) == (LimitSource.DEFAULT, 100 * DOLLAR)


@pytest.fixture
async def two_organizations(make: LimitFactory) -> dict[str, uuid.UUID]:
    """Spec section 11: orgs A and B; groups A1 $5 and A2 $20 in A, B1 $50 in B; default $100 a
    month; one user in all three groups."""
    await make.enable(100 * DOLLAR, Period.MONTH)
    a, b = await make.organization("A"), await make.organization("B")
    user = await make.user("alice", organizations=(a, b))
    a1 = await make.limited_group(a, "A1", 5 * DOLLAR, members=(user,))
    await make.limited_group(a, "A2", 20 * DOLLAR, members=(user,))
    b1 = await make.limited_group(b, "B1", 50 * DOLLAR, members=(user,))
    return {"user": user, "A": a, "B": b, "A1": a1, "B1": b1}


async def test_organization_a_gets_its_lowest_group(
    engine: AsyncEngine, two_organizations: dict[str, uuid.UUID]
) -> None:
    limit = await resolve(engine, two_organizations["user"], two_organizations["A"])
    assert (limit.source, limit.limit_micros, limit.group_id) == (
        LimitSource.GROUP,
        5 * DOLLAR,
        two_organizations["A1"],
    )


async def test_organization_b_ignores_the_groups_of_a(
    engine: AsyncEngine, two_organizations: dict[str, uuid.UUID]
) -> None:
    limit = await resolve(engine, two_organizations["user"], two_organizations["B"])
    assert (limit.source, limit.limit_micros, limit.group_id) == (
        LimitSource.GROUP,
        50 * DOLLAR,
        two_organizations["B1"],
    )


async def test_an_unknown_organization_falls_back_to_the_default(
    engine: AsyncEngine, two_organizations: dict[str, uuid.UUID]
) -> None:
    limit = await resolve(engine, two_organizations["user"], uuid.uuid4())
    assert (limit.source, limit.limit_micros, limit.group_id) == (LimitSource.DEFAULT, 100 * DOLLAR, None)


async def test_no_organization_means_the_lowest_group_anywhere(
    engine: AsyncEngine, two_organizations: dict[str, uuid.UUID]
) -> None:
    limit = await resolve(engine, two_organizations["user"])
    assert (limit.source, limit.limit_micros) == (LimitSource.GROUP, 5 * DOLLAR)


async def test_a_user_override_of_ten_beats_group_a1_of_five(
    engine: AsyncEngine, make: LimitFactory, two_organizations: dict[str, uuid.UUID]
) -> None:
    await make.user_override(two_organizations["user"], 10 * DOLLAR)
    limit = await resolve(engine, two_organizations["user"], two_organizations["A"])
    assert (limit.source, limit.limit_micros) == (LimitSource.USER, 10 * DOLLAR)


async def test_a_batch_answers_every_key_like_single_lookups_and_skips_unknown_users(
    engine: AsyncEngine, make: LimitFactory, two_organizations: dict[str, uuid.UUID]
) -> None:
    user, a, b = two_organizations["user"], two_organizations["A"], two_organizations["B"]
    other = await make.user("bob", organizations=(b,))
    await make.group_override(b, 30 * DOLLAR)  # B's Everyone group: bob's only group with a limit
    unknown = uuid.uuid4()
    keys = [(user, a), (user, b), (user, None), (other, a), (other, None), (unknown, None)]
    async with engine.connect() as conn:
        batch = await effective_limits(conn, keys)
        singles = {k: await effective_limit(conn, *k) for k in keys}
    assert (unknown, None) not in batch
    assert batch == {k: v for k, v in singles.items() if v is not None}
    assert batch[(other, a)].source is LimitSource.DEFAULT
    assert (batch[(other, None)].source, batch[(other, None)].group_id) == (LimitSource.GROUP, b)
    assert batch[(user, b)].limit_micros == 30 * DOLLAR
