"""The deployment-wide configuration (spec sections 2 and 6), called directly."""

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.errors import DomainError
from spendlimits.limits.config import get_config, unpriced_model_count, update_config
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


async def test_no_limit_disables_and_keeps_the_given_period_or_month(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await update_config(conn, spend_limit_micros=5_000_000, period=Period.DAY)
        with_period = await update_config(conn, spend_limit_micros=None, period=Period.WEEK)
        without_period = await update_config(conn, spend_limit_micros=None, period=None)
    assert (with_period.enabled, with_period.period) == (False, Period.WEEK)
    assert (without_period.enabled, without_period.period) == (False, Period.MONTH)


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
            await update_config(conn, spend_limit_micros=5, period=None)
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
