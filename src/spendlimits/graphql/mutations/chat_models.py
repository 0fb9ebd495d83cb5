"""Chat models and their prices: OWNER only."""

from typing import Annotated

import strawberry

from spendlimits.directory import models
from spendlimits.graphql.context import Info
from spendlimits.graphql.errors import UserError
from spendlimits.graphql.mutations.transaction import in_transaction
from spendlimits.graphql.permissions import require_owner
from spendlimits.graphql.scalars import Micros
from spendlimits.graphql.types.chat_model import ChatModel


@strawberry.input(
    description="Micro-dollars per million tokens, each 0 or more; null or omitted means no price."
)
class ModelPricingInput:
    input_price_per_million_tokens: Micros | None = strawberry.field(
        default=None, description="Price of prompt tokens."
    )
    output_price_per_million_tokens: Micros | None = strawberry.field(
        default=None, description="Price of generated tokens."
    )
    cache_read_price_per_million_tokens: Micros | None = strawberry.field(
        default=None, description="Price of tokens read from the prompt cache."
    )
    cache_write_price_per_million_tokens: Micros | None = strawberry.field(
        default=None, description="Price of tokens written to the prompt cache."
    )


@strawberry.input(
    description="A model is identified by (provider, model): an upsert replaces its prices and enabled flag."
)
class UpsertChatModelInput:
    provider: str = strawberry.field(description='Who serves the model, e.g. "anthropic".')
    model: str = strawberry.field(description='The provider\'s model name, e.g. "claude-sonnet-4-5".')
    enabled: bool | None = strawberry.field(
        default=True, description="Whether chats may use it; null means true."
    )
    pricing: ModelPricingInput | None = strawberry.field(
        default=None,
        description=(
            "Replaces all four prices; omitted means no prices. A model with neither an input nor an "
            "output price is unpriced: its usage costs nothing and counts toward no limit."
        ),
    )


@strawberry.type(description="The result of upsertChatModel.")
class UpsertChatModelPayload:
    chat_model: ChatModel | None = strawberry.field(description="The model as stored; null on error.")
    errors: list[UserError] = strawberry.field(description="Why nothing was done; empty on success.")


@strawberry.type
class ChatModelMutation:
    @strawberry.mutation(
        description=(
            "Creates a model or replaces its prices and enabled flag. New prices apply to messages "
            "recorded from then on. OWNER only."
        )
    )
    async def upsert_chat_model(
        self,
        info: Info,
        input: Annotated[UpsertChatModelInput, strawberry.argument(description="The model.")],
    ) -> UpsertChatModelPayload:
        require_owner(info.context.principal)
        pricing = input.pricing or ModelPricingInput()
        prices = models.ModelPrices(
            input=pricing.input_price_per_million_tokens,
            output=pricing.output_price_per_million_tokens,
            cache_read=pricing.cache_read_price_per_million_tokens,
            cache_write=pricing.cache_write_price_per_million_tokens,
        )
        outcome = await in_transaction(
            info,
            lambda conn: models.upsert_model(
                conn,
                provider=input.provider,
                model=input.model,
                enabled=input.enabled is not False,
                prices=prices,
            ),
        )
        return UpsertChatModelPayload(
            chat_model=ChatModel(domain=outcome.value[0]) if outcome.value else None, errors=outcome.errors
        )
