"""The demo's current period always shows users past the warning levels and over the limit."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.demo import DemoSize, load_demo
from spendlimits.limits.status import Status, statuses

SMALL = DemoSize(users=15, messages=600, days=60)


def bands(found: list[Status]) -> dict[str, int]:
    """How many users stand in each band of the current period: 75-90%, 90-100%, over."""
    counts = {"75%": 0, "90%": 0, "over": 0}
    for status in found:
        limit = status.limit.limit_micros
        if limit is None:
            continue
        share = status.spend_micros / limit
        if share >= 1:
            counts["over"] += 1
        elif share >= 0.9:
            counts["90%"] += 1
        elif share >= 0.75:
            counts["75%"] += 1
    return counts


async def current_period(engine: AsyncEngine, now: datetime) -> list[Status]:
    async with engine.connect() as conn:
        ids = (await conn.execute(text("SELECT id FROM users WHERE NOT is_system"))).scalars().all()
        found = await statuses(conn, [(i, None, now) for i in ids], now)
    assert all(s.period_start is not None and s.period_start <= now for s in found.values())
    return list(found.values())


@pytest.mark.parametrize(
    "now",
    [
        datetime(2026, 12, 1, 0, 0, 30, tzinfo=UTC),  # thirty seconds into the month
        datetime(2026, 12, 2, 9, 15, tzinfo=UTC),
        datetime(2025, 3, 1, 12, tzinfo=UTC),
        datetime(2025, 6, 20, 12, tzinfo=UTC),
        datetime(2024, 2, 29, 23, 59, tzinfo=UTC),
    ],
    ids=str,
)
async def test_the_current_period_has_users_at_each_warning_level_and_over(
    engine: AsyncEngine, now: datetime
) -> None:
    await load_demo(engine, size=SMALL, now=now)
    counts = bands(await current_period(engine, now))
    assert counts["75%"] >= 2 and counts["90%"] >= 2 and counts["over"] >= 1, counts


async def test_loading_again_in_the_same_period_adds_nothing_and_the_next_period_is_topped_up(
    engine: AsyncEngine,
) -> None:
    last_hour = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    first = await load_demo(engine, size=SMALL, now=last_hour)
    again = await load_demo(engine, size=SMALL, now=last_hour + timedelta(minutes=30))
    assert first.messages_added > 600 and again.messages_added == 0
    # Two hours later it is December: a new period, topped up afresh.
    december = last_hour + timedelta(hours=2)
    assert (await load_demo(engine, size=SMALL, now=december)).messages_added > 0
    counts = bands(await current_period(engine, december))
    assert counts["75%"] >= 2 and counts["90%"] >= 2 and counts["over"] >= 1, counts
