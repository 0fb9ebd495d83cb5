"""Spend history (insight.history), called directly: bucket bounds in every width, the subjects and
their scopes, and the property that a period's buckets add up to the status's spend."""

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.insight.history import (
    MAX_BUCKETS,
    RangeError,
    Subject,
    bucket_bounds,
    histories,
    history,
    history_key,
)
from spendlimits.limits.periods import Period
from spendlimits.limits.status import statuses
from tests.limits.factories import LimitFactory
from tests.limits.test_spend_property import EPOCH, SPAN_MINUTES, build_world, play, step


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def starts(bounds: tuple[tuple[datetime, datetime], ...]) -> list[str]:
    return [b[0].date().isoformat() for b in bounds]


def test_day_buckets_round_a_range_off_the_boundaries_outward() -> None:
    bounds = bucket_bounds(Period.DAY, utc(2025, 6, 15, 14, 30), utc(2025, 6, 17, 0, 1))
    assert starts(bounds) == ["2025-06-15", "2025-06-16", "2025-06-17"]
    assert bounds[-1][1] == utc(2025, 6, 18)


def test_a_range_on_boundaries_is_not_widened() -> None:
    bounds = bucket_bounds(Period.DAY, utc(2025, 6, 15), utc(2025, 6, 17))
    assert starts(bounds) == ["2025-06-15", "2025-06-16"]


def test_week_buckets_start_on_monday() -> None:
    # Wednesday 2025-06-11 to Tuesday 2025-06-17: the weeks of Monday 06-09 and Monday 06-16.
    bounds = bucket_bounds(Period.WEEK, utc(2025, 6, 11, 8), utc(2025, 6, 17, 8))
    assert bounds == ((utc(2025, 6, 9), utc(2025, 6, 16)), (utc(2025, 6, 16), utc(2025, 6, 23)))
    # Across the year end: 2024-12-31 is in the week of Monday 2024-12-30.
    assert bucket_bounds(Period.WEEK, utc(2024, 12, 31), utc(2025, 1, 1))[0] == (
        utc(2024, 12, 30),
        utc(2025, 1, 6),
    )


def test_month_buckets_follow_month_lengths_and_the_leap_day() -> None:
    bounds = bucket_bounds(Period.MONTH, utc(2024, 1, 31, 23), utc(2024, 4, 1))
    assert bounds == (
        (utc(2024, 1, 1), utc(2024, 2, 1)),
        (utc(2024, 2, 1), utc(2024, 3, 1)),
        (utc(2024, 3, 1), utc(2024, 4, 1)),
    )
    leap_day = bucket_bounds(Period.DAY, utc(2024, 2, 29, 12), utc(2024, 3, 1, 0, 0, 1))
    assert starts(leap_day) == ["2024-02-29", "2024-03-01"]


def test_instants_in_other_zones_are_bucketed_in_utc() -> None:
    new_york = timezone(timedelta(hours=-4))
    bounds = bucket_bounds(Period.DAY, datetime(2025, 6, 15, 22, tzinfo=new_york), utc(2025, 6, 16, 23))
    assert starts(bounds) == ["2025-06-16"]


def test_more_than_400_buckets_or_an_empty_range_is_refused() -> None:
    assert (
        len(bucket_bounds(Period.DAY, utc(2025, 1, 1), utc(2025, 1, 1) + timedelta(days=MAX_BUCKETS))) == 400
    )
    with pytest.raises(RangeError, match="more than 400"):
        bucket_bounds(Period.DAY, utc(2025, 1, 1), utc(2025, 1, 1) + timedelta(days=MAX_BUCKETS, seconds=1))
    with pytest.raises(RangeError, match="after"):
        bucket_bounds(Period.DAY, utc(2025, 1, 2), utc(2025, 1, 1))
    with pytest.raises(RangeError, match="time zone"):
        bucket_bounds(Period.DAY, datetime(2025, 1, 1), utc(2025, 1, 2))


@pytest.fixture
def make(engine: AsyncEngine) -> LimitFactory:
    return LimitFactory(engine)


async def series(engine: AsyncEngine, subject: Subject, subject_id: uuid.UUID, **kw: Any) -> list[int]:
    key = history_key(subject, subject_id, kw.pop("start"), kw.pop("end"), **kw)
    async with engine.connect() as conn:
        return [p.spend_micros for p in (await history(conn, key)).points]


async def test_a_users_history_counts_what_status_counts_with_zeros(
    engine: AsyncEngine, make: LimitFactory
) -> None:
    a, b = await make.organization("a"), await make.organization("b")
    alice = await make.user("alice", organizations=(a, b))
    chat = await make.spend(alice, a, 100, at=utc(2025, 6, 2, 10))
    await make.message(chat, 20, deleted=True, created_at=utc(2025, 6, 2, 23, 59))
    await make.message(chat, None, created_at=utc(2025, 6, 3, 1))  # unpriced: not counted
    await make.chat(alice, a, parent_chat_id=chat)
    child = await make.chat(alice, a, parent_chat_id=chat)
    await make.message(child, 3, created_at=utc(2025, 6, 4))
    await make.archive(chat)
    await make.spend(alice, b, 7, at=utc(2025, 6, 4, 12))
    window = {"start": utc(2025, 6, 1), "end": utc(2025, 6, 5)}
    assert await series(engine, Subject.USER, alice, **window) == [0, 120, 0, 10]
    assert await series(engine, Subject.USER, alice, organization_id=b, **window) == [0, 0, 0, 7]


async def test_an_organizations_history_counts_every_chat_in_it_deleted_users_included(
    engine: AsyncEngine, make: LimitFactory
) -> None:
    a, b = await make.organization("a"), await make.organization("b")
    alice = await make.user("alice", organizations=(a,))
    bob = await make.user("bob", organizations=(a, b))
    await make.spend(alice, a, 5, at=utc(2025, 6, 2))
    await make.spend(bob, a, 6, at=utc(2025, 6, 9))
    await make.spend(bob, b, 1000, at=utc(2025, 6, 9))
    await make.delete_user(alice)
    weeks = {"start": utc(2025, 6, 2), "end": utc(2025, 6, 16), "bucket": Period.WEEK}
    assert await series(engine, Subject.ORGANIZATION, a, **weeks) == [5, 6]


async def test_a_groups_history_counts_current_live_members_in_its_organization(
    engine: AsyncEngine, make: LimitFactory
) -> None:
    a, b = await make.organization("a"), await make.organization("b")
    alice = await make.user("alice", organizations=(a, b))
    bob = await make.user("bob", organizations=(a,))
    carol = await make.user("carol", organizations=(a,))
    outsider = await make.user("dave", organizations=(a,))
    robot = await make.user("robot", is_system=True, organizations=(a,))
    group = await make.group(a, "eng", (alice, bob, carol, robot))
    for user in (alice, bob, carol, outsider, robot):
        await make.spend(user, a, 10, at=utc(2025, 6, 2))
    await make.spend(alice, b, 1000, at=utc(2025, 6, 2))
    await make.delete_user(carol)
    month = {"start": utc(2025, 6, 1), "end": utc(2025, 7, 1), "bucket": Period.MONTH}
    assert await series(engine, Subject.GROUP, group, **month) == [20]
    # The Everyone group: the organization's live members (system users left out).
    assert await series(engine, Subject.GROUP, a, **month) == [30]


async def test_a_batch_of_mixed_subjects_answers_every_key(engine: AsyncEngine, make: LimitFactory) -> None:
    a = await make.organization("a")
    users = [await make.user(f"u{i}", organizations=(a,)) for i in range(5)]
    for i, user in enumerate(users):
        await make.spend(user, a, i + 1, at=utc(2025, 6, 2))
    keys = [history_key(Subject.USER, u, utc(2025, 6, 1), utc(2025, 7, 1)) for u in users]
    keys.append(history_key(Subject.ORGANIZATION, a, utc(2025, 6, 1), utc(2025, 7, 1), Period.MONTH))
    keys.append(history_key(Subject.GROUP, a, utc(2025, 6, 1), utc(2025, 7, 1), Period.WEEK))
    async with engine.connect() as conn:
        found = await histories(conn, keys)
    assert [found[k].total_micros for k in keys] == [1, 2, 3, 4, 5, 15, 15]
    assert [len(found[k].points) for k in keys] == [30] * 5 + [1, 6]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    moves=st.lists(step, min_size=1, max_size=20),
    probe=st.integers(0, SPAN_MINUTES),
    period=st.sampled_from(list(Period)),
)
async def test_a_periods_buckets_add_up_to_the_status_spend_of_that_period(
    engine: AsyncEngine, moves: list[dict[str, Any]], probe: int, period: Period
) -> None:
    async with engine.begin() as conn:
        users, orgs = await build_world(conn)
        await play(conn, moves, users, orgs)
        await conn.execute(
            text(
                "UPDATE chat_usage_limit_config SET enabled = true, default_limit_micros = 1000, period = :p"
            ),
            {"p": period.value},
        )
        at = EPOCH + timedelta(minutes=probe)
        keys = [(user, scope, at) for user in users for scope in (None, *orgs)]
        found = await statuses(conn, keys, now=EPOCH)
        for user, scope, _ in keys:
            status = found[(user, scope, at)]
            assert status.period_start is not None and status.period_end is not None
            # Days inside the period: the buckets are finer than (or as wide as) the period.
            for bucket in [p for p in Period if p is Period.DAY or p is period]:
                counted = scope if status.limit.source.value == "group" else None
                key = history_key(Subject.USER, user, status.period_start, status.period_end, bucket, counted)
                assert (await history(conn, key)).total_micros == status.spend_micros
