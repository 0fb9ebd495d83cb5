"""A user's status (spec sections 4, 5 and 11): limit, period and spend with organization scoping."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.limits.periods import Period, period_bounds
from spendlimits.limits.resolution import LimitSource
from spendlimits.limits.status import Status, status, statuses
from tests.limits.factories import DOLLAR, LimitFactory


@pytest.fixture
def make(engine: AsyncEngine) -> LimitFactory:
    return LimitFactory(engine)


async def status_of(
    engine: AsyncEngine,
    user_id: uuid.UUID,
    organization_id: uuid.UUID | None = None,
    at: datetime | None = None,
) -> Status:
    async with engine.connect() as conn:
        found = await status(conn, user_id, organization_id, at)
    assert found is not None
    return found


@pytest.fixture
async def two_organizations(make: LimitFactory) -> dict[str, uuid.UUID]:
    """Spec section 11: orgs A and B; groups A1 $5 and A2 $20 in A, B1 $50 in B; default $100 a
    month; one user in all three groups."""
    await make.enable(100 * DOLLAR, Period.MONTH)
    a, b = await make.organization("A"), await make.organization("B")
    user = await make.user("alice", organizations=(a, b))
    await make.limited_group(a, "A1", 5 * DOLLAR, members=(user,))
    await make.limited_group(a, "A2", 20 * DOLLAR, members=(user,))
    await make.limited_group(b, "B1", 50 * DOLLAR, members=(user,))
    return {"user": user, "A": a, "B": b}


async def test_a_group_limit_counts_only_its_organizations_spend(
    engine: AsyncEngine, make: LimitFactory, two_organizations: dict[str, uuid.UUID]
) -> None:
    user, a, b = two_organizations["user"], two_organizations["A"], two_organizations["B"]
    await make.spend(user, a, 3 * DOLLAR)
    in_b, in_a, anywhere = (
        await status_of(engine, user, b),
        await status_of(engine, user, a),
        await status_of(engine, user),
    )
    assert (in_b.limit.limit_micros, in_b.spend_micros) == (50 * DOLLAR, 0)
    assert (in_a.limit.limit_micros, in_a.spend_micros) == (5 * DOLLAR, 3 * DOLLAR)
    assert (anywhere.limit.limit_micros, anywhere.spend_micros) == (5 * DOLLAR, 3 * DOLLAR)


async def test_a_user_override_counts_spend_in_every_organization(
    engine: AsyncEngine, make: LimitFactory, two_organizations: dict[str, uuid.UUID]
) -> None:
    user, a, b = two_organizations["user"], two_organizations["A"], two_organizations["B"]
    await make.user_override(user, 10 * DOLLAR)
    await make.spend(user, a, 6 * DOLLAR)
    await make.spend(user, b, 6 * DOLLAR)
    in_a = await status_of(engine, user, a)
    assert (in_a.limit.source, in_a.spend_micros, in_a.exceeded, in_a.remaining_micros) == (
        LimitSource.USER,
        12 * DOLLAR,
        True,
        0,
    )


async def test_the_default_limit_counts_spend_in_every_organization(
    engine: AsyncEngine, make: LimitFactory
) -> None:
    await make.enable(100 * DOLLAR, Period.MONTH)
    a, c = await make.organization("A"), await make.organization("C")
    user = await make.user("alice", organizations=(a, c))
    await make.spend(user, a, 30 * DOLLAR)
    await make.spend(user, c, 40 * DOLLAR)
    in_c = await status_of(engine, user, c)
    assert (in_c.limit.source, in_c.spend_micros, in_c.remaining_micros) == (
        LimitSource.DEFAULT,
        70 * DOLLAR,
        30 * DOLLAR,
    )


async def test_disabled_limits_report_unlimited_with_zero_spend(
    engine: AsyncEngine, make: LimitFactory
) -> None:
    org = await make.organization("acme")
    user = await make.user("alice", organizations=(org,))
    await make.user_override(user, 1)
    await make.spend(user, org, 5 * DOLLAR)
    found = await status_of(engine, user, org)
    assert not found.is_limited
    assert found.limit.source is LimitSource.DISABLED
    assert (found.spend_micros, found.exceeded) == (0, False)
    assert (found.limit.limit_micros, found.remaining_micros, found.limit.period) == (None, None, None)
    assert (found.period_start, found.period_end) == (None, None)


async def test_status_reports_the_period_containing_the_instant_asked_about(
    engine: AsyncEngine, make: LimitFactory
) -> None:
    await make.enable(10 * DOLLAR, Period.WEEK)
    org = await make.organization("acme")
    user = await make.user("alice", organizations=(org,))
    wednesday = datetime(2025, 6, 11, 9, tzinfo=UTC)
    await make.spend(user, org, 2 * DOLLAR, at=wednesday)
    await make.spend(user, org, 4 * DOLLAR, at=wednesday - timedelta(days=7))
    this_week = await status_of(engine, user, at=wednesday)
    last_week = await status_of(engine, user, at=wednesday - timedelta(days=7))
    assert (this_week.period_start, this_week.period_end) == period_bounds(Period.WEEK, wednesday)
    assert (this_week.spend_micros, last_week.spend_micros) == (2 * DOLLAR, 4 * DOLLAR)
    assert this_week.remaining_micros == 8 * DOLLAR


async def test_a_changed_period_applies_at_the_next_status(engine: AsyncEngine, make: LimitFactory) -> None:
    await make.enable(10 * DOLLAR, Period.MONTH)
    org = await make.organization("acme")
    user = await make.user("alice", organizations=(org,))
    now = datetime.now(UTC)
    await make.spend(user, org, 3 * DOLLAR, at=now)
    await make.spend(user, org, 4 * DOLLAR, at=period_bounds(Period.DAY, now)[0] - timedelta(seconds=1))
    await make.enable(10 * DOLLAR, Period.DAY)
    today = await status_of(engine, user)
    assert (today.limit.period, today.spend_micros) == (Period.DAY, 3 * DOLLAR)
    assert (today.period_start, today.period_end) == period_bounds(Period.DAY, now)


async def test_overshoot_is_reported_as_spent_with_nothing_remaining(
    engine: AsyncEngine, make: LimitFactory
) -> None:
    await make.enable(100, Period.DAY)
    org = await make.organization("acme")
    user = await make.user("alice", organizations=(org,))
    await make.spend(user, org, 150)
    found = await status_of(engine, user)
    assert (found.spend_micros, found.remaining_micros, found.exceeded) == (150, 0, True)


async def test_a_batch_of_statuses_matches_single_lookups(
    engine: AsyncEngine, make: LimitFactory, two_organizations: dict[str, uuid.UUID]
) -> None:
    user, a, b = two_organizations["user"], two_organizations["A"], two_organizations["B"]
    now = datetime.now(UTC)
    last_month = period_bounds(Period.MONTH, now)[0] - timedelta(days=3)
    await make.spend(user, a, 1 * DOLLAR, at=now)
    await make.spend(user, b, 2 * DOLLAR, at=last_month)
    keys = [(user, a, None), (user, b, last_month), (user, None, now), (uuid.uuid4(), None, None)]
    async with engine.connect() as conn:
        batch = await statuses(conn, keys, now=now)
        singles = {k: await status(conn, k[0], k[1], k[2] or now) for k in keys}
    assert len(batch) == 3
    assert all(batch[k] == singles[k] for k in batch)
    assert batch[(user, b, last_month)].spend_micros == 2 * DOLLAR
    assert batch[(user, a, None)].spend_micros == 1 * DOLLAR


async def test_an_unknown_user_has_no_status(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        assert await status(conn, uuid.uuid4()) is None
