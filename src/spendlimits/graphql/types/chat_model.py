"""The ChatModel and ModelPricing types."""

from datetime import datetime

import strawberry

from spendlimits.directory import models
from spendlimits.graphql.scalars import Micros


@strawberry.type(
    description="Prices are micro-dollars per million tokens, so cost = ceil(sum(tokens * price) / 1,000,000)."
)
class ModelPricing:
    input_price_per_million_tokens: Micros | None
    output_price_per_million_tokens: Micros | None
    cache_read_price_per_million_tokens: Micros | None
    cache_write_price_per_million_tokens: Micros | None


def _micros(value: int | None) -> Micros | None:
    return None if value is None else Micros(value)


@strawberry.type(description="An LLM a chat can use, identified by (provider, model).")
class ChatModel:
    domain: strawberry.Private[models.ChatModel]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.domain.id))

    @strawberry.field
    def provider(self) -> str:
        return self.domain.provider

    @strawberry.field
    def model(self) -> str:
        return self.domain.model

    @strawberry.field
    def enabled(self) -> bool:
        return self.domain.enabled

    @strawberry.field
    def pricing(self) -> ModelPricing:
        m = self.domain
        return ModelPricing(
            input_price_per_million_tokens=_micros(m.input_price_micros),
            output_price_per_million_tokens=_micros(m.output_price_micros),
            cache_read_price_per_million_tokens=_micros(m.cache_read_price_micros),
            cache_write_price_per_million_tokens=_micros(m.cache_write_price_micros),
        )

    @strawberry.field(description="False when both the input and the output price are missing.")
    def is_priced(self) -> bool:
        return self.domain.is_priced

    @strawberry.field
    def created_at(self) -> datetime:
        return self.domain.created_at
