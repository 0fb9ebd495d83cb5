"""The cost rule of spec section 7, as a pure function."""

import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spendlimits.directory.cost import TokenUsage, message_cost
from spendlimits.directory.models import ChatModel
from spendlimits.errors import DomainError


def model(
    input: int | None = None,
    output: int | None = None,
    cache_read: int | None = None,
    cache_write: int | None = None,
) -> ChatModel:
    return ChatModel(
        id=uuid.uuid4(),
        provider="p",
        model="m",
        enabled=True,
        input_price_micros=input,
        output_price_micros=output,
        cache_read_price_micros=cache_read,
        cache_write_price_micros=cache_write,
        created_at=datetime(2025, 1, 1, tzinfo=UTC),
    )


SONNET = model(3_000_000, 15_000_000, 300_000, 3_750_000)


def test_a_given_total_wins_over_usage_and_prices() -> None:
    assert message_cost(total_cost_micros=7, usage=TokenUsage(input_tokens=10**6), model=SONNET) == 7
    assert message_cost(total_cost_micros=0, usage=None, model=None) == 0


def test_usage_is_priced_per_million_tokens() -> None:
    usage = TokenUsage(
        input_tokens=2000, output_tokens=1000, cache_read_tokens=10_000, cache_write_tokens=400
    )
    # 6,000 + 15,000 + 3,000 + 1,500
    assert message_cost(total_cost_micros=None, usage=usage, model=SONNET) == 25_500


def test_a_fraction_of_a_micro_rounds_up() -> None:
    assert message_cost(total_cost_micros=None, usage=TokenUsage(input_tokens=1), model=model(input=1)) == 1
    assert message_cost(total_cost_micros=None, usage=TokenUsage(output_tokens=1), model=SONNET) == 15
    assert (
        message_cost(total_cost_micros=None, usage=TokenUsage(input_tokens=1_000_001), model=model(input=1))
        == 2
    )


def test_zero_usage_on_a_priced_model_costs_zero() -> None:
    assert message_cost(total_cost_micros=None, usage=TokenUsage(), model=SONNET) == 0


def test_missing_prices_count_zero_when_input_or_output_is_priced() -> None:
    usage = TokenUsage(
        input_tokens=10**6, output_tokens=10**6, cache_read_tokens=10**6, cache_write_tokens=10**6
    )
    assert message_cost(total_cost_micros=None, usage=usage, model=model(output=2)) == 2
    assert message_cost(total_cost_micros=None, usage=usage, model=model(input=5, cache_write=1)) == 6


@pytest.mark.parametrize(
    ("usage", "chat_model"),
    [
        (TokenUsage(input_tokens=5), model(cache_read=1, cache_write=1)),
        (TokenUsage(input_tokens=5), None),
        (None, SONNET),
        (None, None),
    ],
    ids=["cache-prices-only", "no-model", "no-usage", "nothing"],
)
def test_cost_is_unknown_without_usage_model_or_input_and_output_prices(
    usage: TokenUsage | None, chat_model: ChatModel | None
) -> None:
    assert message_cost(total_cost_micros=None, usage=usage, model=chat_model) is None


def test_negative_total_or_token_count_is_invalid_input() -> None:
    with pytest.raises(DomainError) as negative_total:
        message_cost(total_cost_micros=-1, usage=None, model=None)
    assert (negative_total.value.code, negative_total.value.field) == (
        "INVALID_INPUT",
        ["input", "totalCostMicros"],
    )
    with pytest.raises(DomainError) as negative_tokens:
        message_cost(total_cost_micros=5, usage=TokenUsage(cache_write_tokens=-1), model=SONNET)
    assert negative_tokens.value.field == ["input", "usage", "cacheWriteTokens"]


def test_large_counts_are_exact_where_floating_point_is_not() -> None:
    usage = TokenUsage(input_tokens=1_000_001)
    # The exact quotient is 20,000,020,001.000001; as a float it is a whole number.
    assert (
        message_cost(total_cost_micros=None, usage=usage, model=model(input=20_000_000_001)) == 20_000_020_002
    )


def test_a_cost_beyond_what_clients_read_exactly_is_refused() -> None:
    with pytest.raises(DomainError) as too_big:
        message_cost(total_cost_micros=None, usage=TokenUsage(input_tokens=2**40), model=model(input=2**40))
    assert too_big.value.code == "INVALID_INPUT"


@given(
    tokens=st.lists(st.integers(0, 2**31 - 1), min_size=4, max_size=4),
    prices=st.lists(st.one_of(st.none(), st.integers(0, 10**9)), min_size=4, max_size=4),
)
def test_cost_is_the_smallest_whole_micro_not_below_the_exact_price(
    tokens: list[int], prices: list[int | None]
) -> None:
    chat_model = model(*prices)
    cost = message_cost(total_cost_micros=None, usage=TokenUsage(*tokens), model=chat_model)
    if not chat_model.is_priced:
        assert cost is None
        return
    exact_times_million = sum(t * (p or 0) for t, p in zip(tokens, prices, strict=True))
    assert cost is not None
    assert (
        cost * 1_000_000 >= exact_times_million > (cost - 1) * 1_000_000 or cost == exact_times_million == 0
    )
