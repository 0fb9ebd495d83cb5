"""The deployment-wide configuration (spec sections 2 and 6), called directly."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.errors import DomainError
from spendlimits.limits.config import get_config, unpriced_model_count, update_config, warning_threshold
from spendlimits.limits.enforcement import EnforcementMode
from spendlimits.limits.periods import Period
from tests.limits.factories import LimitFactory


async def test_a_fresh_install_is_disabled_with_a_monthly_period(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        config = await get_config(conn)
    assert (config.enabled, config.period) == (False, Period.MONTH)


async def test_setting_a_limit_enables_limits_with_its_period(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        updated = await update_config(conn, spend_limit_micros=5_000_000, period=Period.WEEK)
    async with engine.connect() as conn:
        stored = await get_config(conn)
    assert stored == updated
    assert (stored.enabled, stored.default_limit_micros, stored.period) == (True, 5_000_000, Period.WEEK)


async def test_an_explicit_null_limit_disables_and_keeps_the_stored_period_unless_given(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        await update_config(conn, spend_limit_micros=5_000_000, period=Period.DAY)
        without_period = await update_config(conn, spend_limit_micros=None)
        with_period = await update_config(conn, spend_limit_micros=None, period=Period.WEEK)
    assert (without_period.enabled, without_period.period) == (False, Period.DAY)
    assert (with_period.enabled, with_period.period) == (False, Period.WEEK)


async def test_an_update_that_does_not_mention_the_limit_keeps_it(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await update_config(conn, spend_limit_micros=5_000_000, period=Period.WEEK)
        empty = await update_config(conn)
        mode_only = await update_config(conn, enforcement_mode=EnforcementMode.FAIL_CLOSED)
        thresholds_only = await update_config(conn, warning_thresholds_percent=[50])
    for kept in (empty, mode_only, thresholds_only):
        assert (kept.enabled, kept.default_limit_micros, kept.period) == (True, 5_000_000, Period.WEEK)
    assert thresholds_only.enforcement_mode is EnforcementMode.FAIL_CLOSED
    assert thresholds_only.warning_thresholds_percent == (50,)


async def test_a_period_alone_changes_the_period_and_keeps_the_limit(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await update_config(conn, spend_limit_micros=5_000_000, period=Period.WEEK)
        changed = await update_config(conn, period=Period.DAY)
    assert (changed.enabled, changed.default_limit_micros, changed.period) == (True, 5_000_000, Period.DAY)


async def test_warning_thresholds_default_to_75_and_90_and_are_stored_ascending(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        assert (await get_config(conn)).warning_thresholds_percent == (75, 90)
        stored = await update_config(conn, warning_thresholds_percent=[90, 10, 50])
    assert stored.warning_thresholds_percent == (10, 50, 90)


@pytest.mark.parametrize(
    ("thresholds", "message"),
    [
        ([0], "Warning thresholds must be 1 to 99 percent."),
        ([100], "Warning thresholds must be 1 to 99 percent."),
        ([10, 20, 30, 40, 50, 60], "At most 5 warning thresholds."),
        ([50, 50], "Warning thresholds must not repeat."),
    ],
)
async def test_bad_warning_thresholds_are_refused_and_nothing_changes(
    engine: AsyncEngine, thresholds: list[int], message: str
) -> None:
    async with engine.begin() as conn:
        with pytest.raises(DomainError) as raised:
            await update_config(
                conn, spend_limit_micros=5, period=Period.DAY, warning_thresholds_percent=thresholds
            )
    assert (raised.value.code, raised.value.message, raised.value.field) == (
        "INVALID_INPUT",
        message,
        ["input", "warningThresholdsPercent"],
    )
    async with engine.connect() as conn:
        assert (await get_config(conn)).enabled is False


async def test_the_database_refuses_bad_thresholds_from_any_writer(engine: AsyncEngine) -> None:
    for bad in ([90, 75], [0], [1, 2, 3, 4, 5, 6], [50, None]):
        with pytest.raises(IntegrityError):
            async with engine.begin() as conn:
                await conn.execute(
                    text(
                        "UPDATE chat_usage_limit_config SET warning_thresholds_percent = CAST(:t AS integer[])"
                    ),
                    {"t": bad},
                )


@pytest.mark.parametrize(
    ("spend", "limit", "expected"),
    [
        (0, 100, None),
        (74, 100, None),
        (75, 100, 75),
        (89, 100, 75),
        (90, 100, 90),
        (150, 100, 90),
        (2, 3, None),
        (3, 3, 90),
    ],
)
def test_the_warning_threshold_is_the_highest_reached(spend: int, limit: int, expected: int | None) -> None:
    assert warning_threshold((75, 90), spend, limit) == expected


def test_no_warning_threshold_when_unlimited() -> None:
    assert warning_threshold((75, 90), 10**9, None) is None


@pytest.mark.parametrize("limit", [0, -1])
async def test_a_limit_must_be_greater_than_zero(engine: AsyncEngine, limit: int) -> None:
    async with engine.begin() as conn:
        with pytest.raises(DomainError) as raised:
            await update_config(conn, spend_limit_micros=limit, period=Period.DAY)
    assert (raised.value.code, raised.value.message, raised.value.field) == (
        "INVALID_SPEND_LIMIT",
        "Spend limit must be greater than 0.",
        ["input", "spendLimitMicros"],
    )


async def test_a_limit_needs_a_period(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        with pytest.raises(DomainError) as raised:
            await update_config(conn, spend_limit_micros=5)
    assert (raised.value.code, raised.value.field) == ("INVALID_PERIOD", ["input", "period"])


async def test_unpriced_models_are_enabled_ones_without_input_and_output_prices(engine: AsyncEngine) -> None:
    make = LimitFactory(engine)
    await make.model("openai", "unpriced")
    await make.model("openai", "unpriced-but-off", enabled=False)
    await make.model("openai", "output-only", output_price=10)
    await make.model("openai", "input-only", input_price=10)
    await make.model("anthropic", "also-unpriced")
    async with engine.connect() as conn:
        assert await unpriced_model_count(conn) == 2
