"""One admission rule for the check and every reserve (docs/reservations.md, "Under contention").

``spend >= limit`` blocks both, even a reserve of 0; a reserve also needs
spend + live holds + estimate <= limit. The rule's one home is ``spendlimits_admits`` in the
database; this table drives both decisions over every boundary and compares them with the rule
written out here, so a second, diverging rule anywhere would fail it.
"""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.limits.check import check
from spendlimits.limits.periods import Period
from spendlimits.limits.reservations import ReserveRequest, reserve
from tests.limits.factories import LimitFactory

NOW = datetime(2025, 6, 15, 12, tzinfo=UTC)
TIMEOUT = 5.0
LIMIT = 100

# (spend, held, estimate): every side of every boundary around a limit of 100.
CASES = [
    (spend, held, estimate)
    for spend in (0, 1, 50, 99, 100, 101, 150)
    for held in (0, 1, 49, 50, 51, 100)
    for estimate in (0, 1, 49, 50, 51)
]


def check_allows(spend: int) -> bool:
    return spend < LIMIT


def reserve_admits(spend: int, held: int, estimate: int) -> bool:
    return spend < LIMIT and spend + held + estimate <= LIMIT


async def test_check_and_reserve_agree_on_every_boundary(engine: AsyncEngine) -> None:
    make = LimitFactory(engine)
    await make.enable(LIMIT, Period.DAY)
    org = await make.organization("acme")
    mismatches = []
    for spend, held, estimate in CASES:
        user = await make.user(f"u-{spend}-{held}-{estimate}", organizations=(org,))
        chat = await make.chat(user, org)
        if spend:
            await make.message(chat, spend, created_at=NOW)
        if held:
            await _hold(engine, user, held)
        checked = await check(engine, user, timeout_seconds=TIMEOUT, now=NOW)
        reserved = await reserve(
            engine, ReserveRequest(user_id=user, estimate_micros=estimate), timeout_seconds=TIMEOUT, now=NOW
        )
        got = (checked.allowed, reserved.reservation is not None)
        want = (check_allows(spend), reserve_admits(spend, held, estimate))
        if got != want:
            mismatches.append(((spend, held, estimate), got, want))
        if reserved.reservation is None:
            exceeded = reserved.check.exceeded
            assert exceeded is not None and not reserved.check.failed_open
            # The refusal says how much is held; spentMicros keeps its meaning.
            assert (exceeded.spent_micros, exceeded.held_micros, exceeded.limit_micros) == (
                spend,
                held,
                LIMIT,
            )
        # A reserve admitted with nothing to spend is never one the check would refuse.
        if estimate == 0 and reserved.reservation is not None:
            assert checked.allowed
    assert mismatches == []


async def test_a_reserve_of_zero_at_spend_equal_to_the_limit_is_refused(engine: AsyncEngine) -> None:
    make = LimitFactory(engine)
    await make.enable(LIMIT, Period.DAY)
    org = await make.organization("acme")
    user = await make.user("alice", organizations=(org,))
    await make.message(await make.chat(user, org), LIMIT, created_at=NOW)
    reserved = await reserve(
        engine, ReserveRequest(user_id=user, estimate_micros=0), timeout_seconds=TIMEOUT, now=NOW
    )
    assert reserved.reservation is None and reserved.check.allowed is False
    assert reserved.check.exceeded is not None and reserved.check.exceeded.spent_micros == LIMIT
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM chat_spend_reservations")) == 0


@pytest.mark.parametrize(
    ("limit", "spend", "held", "estimate", "admits"),
    [
        (None, 10**12, 10**12, 10**12, True),
        (0, 0, 0, 0, False),
        (100, 99, 0, 1, True),
        (100, 99, 1, 0, True),
        (100, 99, 1, 1, False),
        (100, 100, 0, None, False),
        (100, 99, 500, None, True),
    ],
)
async def test_the_rule_in_the_database(
    engine: AsyncEngine, limit: int | None, spend: int, held: int, estimate: int | None, admits: bool
) -> None:
    """The SQL function itself, including the check's form (no estimate: holds do not block)."""
    async with engine.connect() as conn:
        got = await conn.scalar(
            text("SELECT spendlimits_admits(CAST(:l AS bigint), :s, :h, CAST(:e AS bigint))"),
            {"l": limit, "s": spend, "h": held, "e": estimate},
        )
    assert got is admits


async def _hold(engine: AsyncEngine, user: uuid.UUID, amount: int) -> None:
    """A live hold written directly, so the table can put holds past the limit too."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                """
                INSERT INTO chat_spend_reservations (user_id, amount_micros, created_at, expires_at)
                VALUES (:user, :amount, :now, :expires)
                """
            ),
            {"user": user, "amount": amount, "now": NOW, "expires": NOW + timedelta(hours=1)},
        )
