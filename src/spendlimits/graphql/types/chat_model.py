"""The ChatModel and ModelPricing types."""

from datetime import datetime

import strawberry

from spendlimits.directory import models
from spendlimits.graphql.scalars import Micros


@strawberry.type(
    description="Prices are micro-dollars per million tokens, so cost = ceil(sum(tokens * price) / 1,000,000)."
)
class ModelPricing:
    input_price_per_million_tokens: Micros | None = strawberry.field(
        description="Price of a million input tokens; null = no price."
    )
    output_price_per_million_tokens: Micros | None = strawberry.field(
        description="Price of a million output tokens; null = no price."
    )
    cache_read_price_per_million_tokens: Micros | None = strawberry.field(
        description="Price of a million tokens read from the prompt cache; null = no price."
    )
    cache_write_price_per_million_tokens: Micros | None = strawberry.field(
        description="Price of a million tokens written to the prompt cache; null = no price."
    )


def _micros(value: int | None) -> Micros | None:
    return None if value is None else Micros(value)


@strawberry.type(description="An LLM a chat can use, identified by (provider, model).")
class ChatModel:
    domain: strawberry.Private[models.ChatModel]

    @strawberry.field(description="The model's id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.domain.id))

    @strawberry.field(description='The LLM provider, e.g. "anthropic".')
    def provider(self) -> str:
        return self.domain.provider

    @strawberry.field(description='The model\'s name at its provider, e.g. "claude-sonnet-4-5".')
    def model(self) -> str:
        return self.domain.model

    @strawberry.field(description="Whether chats may use the model.")
    def enabled(self) -> bool:
        return self.domain.enabled

    @strawberry.field(description="Its prices; a null price counts as 0.")
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

    @strawberry.field(description="When the model was added.")
    def created_at(self) -> datetime:
        return self.domain.created_at
