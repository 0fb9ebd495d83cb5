"""What a message's cost is made of, and the bounds of the amounts a caller may send.

The cost rule itself (spec section 7: a given total wins, else ceil(sum(tokens x price) / 1,000,000),
unpriced -> unknown, a computed cost beyond 2^53 - 1 refused) has one home: the SQL function
``spendlimits_message_cost`` (migration 000009). recordChatMessage(s) price in their lookup statement
with it and settle prices in its one call with it, so the two can never disagree. What stays here
needs no database: the bounds of the numbers a caller sends, checked before anything is sent.
"""

from dataclasses import dataclass

from spendlimits.errors import DomainError

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


def check_amounts(*, total_cost_micros: int | None, usage: TokenUsage | None) -> None:
    """Token counts and a given total within their bounds; raises DomainError (INVALID_INPUT)."""
    if usage is not None:
        check_usage(usage)
    if total_cost_micros is not None and not 0 <= total_cost_micros <= MAX_COST_MICROS:
        raise DomainError("INVALID_INPUT", "totalCostMicros must be 0 or more.", ["input", "totalCostMicros"])


def cost_too_large() -> DomainError:
    """The refusal of a message whose computed cost is beyond MAX_COST_MICROS."""
    return DomainError("INVALID_INPUT", "The message's cost is too large to record.", ["input", "usage"])
