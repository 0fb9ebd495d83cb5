"""What a message costs (spec section 7), in one pure function.

Prices are micro-dollars per million tokens. The sum of tokens x prices is exact in Python's
integers and divided once, rounding up, so a message never costs less than its usage and no
floating-point error creeps in at any token count.
"""

from dataclasses import dataclass

from spendlimits.directory.models import ChatModel
from spendlimits.errors import DomainError

TOKENS_PER_PRICE_UNIT = 1_000_000
#: Costs are Micros, which JavaScript must read exactly.
MAX_COST_MICROS = 2**53 - 1
#: GraphQL's Int stays far below this; bulk imports are held to the same bound as costs.
MAX_TOKENS = 2**53 - 1


@dataclass(frozen=True, slots=True)
class TokenUsage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0


#: The GraphQL input field of each token count, for error paths.
USAGE_FIELDS = {
    "input_tokens": "inputTokens",
    "output_tokens": "outputTokens",
    "cache_read_tokens": "cacheReadTokens",
    "cache_write_tokens": "cacheWriteTokens",
}


def check_usage(usage: TokenUsage) -> None:
    for attribute, graphql_name in USAGE_FIELDS.items():
        if not 0 <= getattr(usage, attribute) <= MAX_TOKENS:
            raise DomainError(
                "INVALID_INPUT",
                "Token counts must be between 0 and 2^53 - 1.",
                ["input", "usage", graphql_name],
            )


def message_cost(
    *, total_cost_micros: int | None, usage: TokenUsage | None, model: ChatModel | None
) -> int | None:
    """The cost to record, in micro-dollars; None when it cannot be known (not counted as spend).

    A given total wins. Otherwise ceil(sum(tokens x price) / 1,000,000), a missing price counting 0;
    None when there is no usage, no model, or the model has neither an input nor an output price.
    """
    if usage is not None:
        check_usage(usage)
    if total_cost_micros is not None:
        if not 0 <= total_cost_micros <= MAX_COST_MICROS:
            raise DomainError(
                "INVALID_INPUT", "totalCostMicros must be 0 or more.", ["input", "totalCostMicros"]
            )
        return total_cost_micros
    if usage is None:
        return None
    if model is None or not model.is_priced:
        return None
    weighted = (
        usage.input_tokens * (model.input_price_micros or 0)
        + usage.output_tokens * (model.output_price_micros or 0)
        + usage.cache_read_tokens * (model.cache_read_price_micros or 0)
        + usage.cache_write_tokens * (model.cache_write_price_micros or 0)
    )
    cost = -(-weighted // TOKENS_PER_PRICE_UNIT)
    if cost > MAX_COST_MICROS:
        raise DomainError("INVALID_INPUT", "The message's cost is too large to record.", ["input", "usage"])
    return cost
