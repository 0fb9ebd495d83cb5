"""The cost rule of spec section 7, tested where it lives: the SQL function
``spendlimits_message_cost`` (migration 000009), which recordChatMessage(s) and settle both call.
The bounds of what a caller may send (cost.check_amounts) need no database and are tested as such."""

from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.directory.cost import MAX_COST_MICROS, TokenUsage, check_amounts
from spendlimits.directory.ingest import NewMessage, record_message
from spendlimits.directory.messages import MessageRole
from spendlimits.errors import DomainError
from tests.directory.factories import Factory


@dataclass(frozen=True, slots=True)
class Prices:
    input: int | None = None
    output: int | None = None
    cache_read: int | None = None
    cache_write: int | None = None


SONNET = Prices(3_000_000, 15_000_000, 300_000, 3_750_000)

_COST = text(
    """
    SELECT cost_micros, too_large FROM spendlimits_message_cost(
        CAST(:total AS bigint), CAST(:i AS bigint), CAST(:o AS bigint), CAST(:cr AS bigint), CAST(:cw AS bigint),
        CAST(:pi AS bigint), CAST(:po AS bigint), CAST(:pcr AS bigint), CAST(:pcw AS bigint))
    """
)


async def priced(
    engine: AsyncEngine, total: int | None, usage: TokenUsage | None, model: Prices | None
) -> tuple[int | None, bool]:
    """(cost_micros, too_large) as the database computes them; no model means no prices."""
    prices = model or Prices()
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                _COST,
                {
                    "total": total,
                    "i": usage.input_tokens if usage else None,
                    "o": usage.output_tokens if usage else None,
                    "cr": usage.cache_read_tokens if usage else None,
                    "cw": usage.cache_write_tokens if usage else None,
                    "pi": prices.input,
                    "po": prices.output,
                    "pcr": prices.cache_read,
                    "pcw": prices.cache_write,
                },
            )
        ).one()
    return row.cost_micros, row.too_large


async def cost(
    engine: AsyncEngine, total: int | None, usage: TokenUsage | None, model: Prices | None
) -> int | None:
    value, too_large = await priced(engine, total, usage, model)
    assert not too_large
    return value


async def test_a_given_total_wins_over_usage_and_prices(engine: AsyncEngine) -> None:
    assert await cost(engine, 7, TokenUsage(input_tokens=10**6), SONNET) == 7
    assert await cost(engine, 0, None, None) == 0


async def test_usage_is_priced_per_million_tokens(engine: AsyncEngine) -> None:
    usage = TokenUsage(
        input_tokens=2000, output_tokens=1000, cache_read_tokens=10_000, cache_write_tokens=400
    )
    # 6,000 + 15,000 + 3,000 + 1,500
    assert await cost(engine, None, usage, SONNET) == 25_500


async def test_a_fraction_of_a_micro_rounds_up(engine: AsyncEngine) -> None:
    assert await cost(engine, None, TokenUsage(input_tokens=1), Prices(input=1)) == 1
    assert await cost(engine, None, TokenUsage(output_tokens=1), SONNET) == 15
    assert await cost(engine, None, TokenUsage(input_tokens=1_000_001), Prices(input=1)) == 2


async def test_zero_usage_on_a_priced_model_costs_zero(engine: AsyncEngine) -> None:
    assert await cost(engine, None, TokenUsage(), SONNET) == 0


async def test_missing_prices_count_zero_when_input_or_output_is_priced(engine: AsyncEngine) -> None:
    usage = TokenUsage(
        input_tokens=10**6, output_tokens=10**6, cache_read_tokens=10**6, cache_write_tokens=10**6
    )
    assert await cost(engine, None, usage, Prices(output=2)) == 2
    assert await cost(engine, None, usage, Prices(input=5, cache_write=1)) == 6


@pytest.mark.parametrize(
    ("usage", "model"),
    [
        (TokenUsage(input_tokens=5), Prices(cache_read=1, cache_write=1)),
        (TokenUsage(input_tokens=5), None),
        (None, SONNET),
        (None, None),
    ],
    ids=["cache-prices-only", "no-model", "no-usage", "nothing"],
)
async def test_cost_is_unknown_without_usage_model_or_input_and_output_prices(
    engine: AsyncEngine, usage: TokenUsage | None, model: Prices | None
) -> None:
    assert await cost(engine, None, usage, model) is None


def test_negative_total_or_token_count_is_invalid_input() -> None:
    with pytest.raises(DomainError) as negative_total:
        check_amounts(total_cost_micros=-1, usage=None)
    assert (negative_total.value.code, negative_total.value.field) == (
        "INVALID_INPUT",
        ["input", "totalCostMicros"],
    )
    with pytest.raises(DomainError) as negative_tokens:
        check_amounts(total_cost_micros=5, usage=TokenUsage(cache_write_tokens=-1))
    assert negative_tokens.value.field == ["input", "usage", "cacheWriteTokens"]
    with pytest.raises(DomainError):
        check_amounts(total_cost_micros=MAX_COST_MICROS + 1, usage=None)
    check_amounts(total_cost_micros=MAX_COST_MICROS, usage=TokenUsage(input_tokens=2**53 - 1))


async def test_large_counts_are_exact_where_floating_point_is_not(engine: AsyncEngine) -> None:
    usage = TokenUsage(input_tokens=1_000_001)
    # The exact quotient is 20,000,020,001.000001; as a float it is a whole number.
    assert await cost(engine, None, usage, Prices(input=20_000_000_001)) == 20_000_020_002


async def test_a_cost_beyond_what_clients_read_exactly_is_refused(engine: AsyncEngine) -> None:
    assert await priced(engine, None, TokenUsage(input_tokens=2**40), Prices(input=2**40)) == (None, True)
    # The bound itself is recordable; one micro more is not.
    assert await priced(engine, None, TokenUsage(input_tokens=MAX_COST_MICROS), Prices(input=10**6)) == (
        MAX_COST_MICROS,
        False,
    )
    assert await priced(engine, None, TokenUsage(input_tokens=MAX_COST_MICROS + 1), Prices(input=10**6)) == (
        None,
        True,
    )


async def test_recording_refuses_a_cost_too_large_as_invalid_input(engine: AsyncEngine) -> None:
    make = Factory(engine)
    org = await make.organization("acme")
    user = await make.user("alice", organizations=(org,))
    chat = await make.chat(user, org)
    model = await make.model("p", "m", input_price=2**40)
    message = NewMessage(
        chat_id=chat, role=MessageRole.ASSISTANT, model_id=model, usage=TokenUsage(input_tokens=2**40)
    )
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        with pytest.raises(DomainError) as too_big:
            await record_message(conn, message)
    assert (too_big.value.code, too_big.value.message, too_big.value.field) == (
        "INVALID_INPUT",
        "The message's cost is too large to record.",
        ["input", "usage"],
    )


def reference_cost(tokens: list[int], prices: list[int | None]) -> tuple[int | None, bool]:
    """The rule in a few lines of exact integer Python: (cost, too_large)."""
    if prices[0] is None and prices[1] is None:
        return None, False
    weighted = sum(t * (p or 0) for t, p in zip(tokens, prices, strict=True))
    exact = -(-weighted // 1_000_000)
    return (None, True) if exact > MAX_COST_MICROS else (exact, False)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    tokens=st.lists(
        st.one_of(st.integers(0, 2**31 - 1), st.integers(0, MAX_COST_MICROS)), min_size=4, max_size=4
    ),
    prices=st.lists(
        st.one_of(st.none(), st.integers(0, 10**9), st.integers(0, 2**63 - 1)), min_size=4, max_size=4
    ),
)
async def test_the_database_agrees_with_the_reference_at_any_size(
    engine: AsyncEngine, tokens: list[int], prices: list[int | None]
) -> None:
    assert await priced(engine, None, TokenUsage(*tokens), Prices(*prices)) == reference_cost(tokens, prices)
