"""Chat models and their prices (micro-dollars per million tokens)."""

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from spendlimits.directory.rows import columns, from_row
from spendlimits.errors import DomainError


@dataclass(frozen=True, slots=True)
class ChatModel:
    id: uuid.UUID
    provider: str
    model: str
    enabled: bool
    input_price_micros: int | None
    output_price_micros: int | None
    cache_read_price_micros: int | None
    cache_write_price_micros: int | None
    created_at: datetime

    @property
    def is_priced(self) -> bool:
        """Usage of a model with neither an input nor an output price cannot be counted."""
        return self.input_price_micros is not None or self.output_price_micros is not None


COLUMNS = columns(ChatModel)


async def get_models(conn: AsyncConnection, ids: list[uuid.UUID]) -> dict[uuid.UUID, ChatModel]:
    rows = await conn.execute(text(f"SELECT {COLUMNS} FROM chat_models WHERE id = ANY(:ids)"), {"ids": ids})
    return {m.id: m for m in (from_row(ChatModel, r) for r in rows)}


async def list_models(conn: AsyncConnection) -> list[ChatModel]:
    """Every configured model, enabled or not, ordered by provider and model."""
    rows = await conn.execute(text(f"SELECT {COLUMNS} FROM chat_models ORDER BY provider, model"))
    return [from_row(ChatModel, r) for r in rows]


#: Provider and model names as the providers spell them ("claude-sonnet-4-5", "models/gemini-2.5-pro").
_MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+-]*")


@dataclass(frozen=True, slots=True)
class ModelPrices:
    """Micro-dollars per million tokens; None = no price."""

    input: int | None = None
    output: int | None = None
    cache_read: int | None = None
    cache_write: int | None = None


#: The GraphQL input field of each price, for error paths.
_PRICE_FIELDS = {
    "input": "inputPricePerMillionTokens",
    "output": "outputPricePerMillionTokens",
    "cache_read": "cacheReadPricePerMillionTokens",
    "cache_write": "cacheWritePricePerMillionTokens",
}


def _check_model_name(value: str, what: str, maximum: int, field: str) -> None:
    if len(value) > maximum or not _MODEL_NAME.fullmatch(value):
        raise DomainError(
            "INVALID_INPUT",
            f"{what} must be 1 to {maximum} characters without spaces, starting with a letter or digit.",
            ["input", field],
        )


async def upsert_model(
    conn: AsyncConnection,
    *,
    provider: str,
    model: str,
    enabled: bool = True,
    prices: ModelPrices | None = None,
) -> tuple[ChatModel, bool]:
    """Creates the model or replaces its prices and enabled flag; True when anything changed.

    Missing prices are stored as no price. An upsert that changes nothing writes nothing.
    """
    _check_model_name(provider, "Provider", 64, "provider")
    _check_model_name(model, "Model", 128, "model")
    prices = prices or ModelPrices()
    for attribute, graphql_name in _PRICE_FIELDS.items():
        price = getattr(prices, attribute)
        if price is not None and price < 0:
            raise DomainError(
                "INVALID_INPUT", "Prices must be 0 or more micro-dollars.", ["input", "pricing", graphql_name]
            )
    params = {
        "provider": provider,
        "model": model,
        "enabled": enabled,
        "input": prices.input,
        "output": prices.output,
        "cache_read": prices.cache_read,
        "cache_write": prices.cache_write,
    }
    row = (
        await conn.execute(
            text(
                f"""
                INSERT INTO chat_models AS m (provider, model, enabled, input_price_micros,
                    output_price_micros, cache_read_price_micros, cache_write_price_micros)
                VALUES (:provider, :model, :enabled, :input, :output, :cache_read, :cache_write)
                ON CONFLICT (provider, model) DO UPDATE SET
                    enabled = EXCLUDED.enabled,
                    input_price_micros = EXCLUDED.input_price_micros,
                    output_price_micros = EXCLUDED.output_price_micros,
                    cache_read_price_micros = EXCLUDED.cache_read_price_micros,
                    cache_write_price_micros = EXCLUDED.cache_write_price_micros,
                    updated_at = now()
                WHERE (m.enabled, m.input_price_micros, m.output_price_micros, m.cache_read_price_micros,
                       m.cache_write_price_micros)
                      IS DISTINCT FROM
                      (EXCLUDED.enabled, EXCLUDED.input_price_micros, EXCLUDED.output_price_micros,
                       EXCLUDED.cache_read_price_micros, EXCLUDED.cache_write_price_micros)
                RETURNING {COLUMNS}
                """
            ),
            params,
        )
    ).one_or_none()
    if row is not None:
        return from_row(ChatModel, row), True
    unchanged = (
        await conn.execute(
            text(f"SELECT {COLUMNS} FROM chat_models WHERE provider = :provider AND model = :model"), params
        )
    ).one()
    return from_row(ChatModel, unchanged), False


async def find_models_by_name(
    conn: AsyncConnection, names: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], ChatModel]:
    """Models by (provider, model); pairs with no model are absent."""
    rows = await conn.execute(
        text(
            f"""
            SELECT {COLUMNS} FROM chat_models
            WHERE (provider, model) IN (
                SELECT * FROM unnest(CAST(:providers AS text[]), CAST(:models AS text[]))
            )
            """
        ),
        {"providers": [n[0] for n in names], "models": [n[1] for n in names]},
    )
    return {(m.provider, m.model): m for m in (from_row(ChatModel, r) for r in rows)}
