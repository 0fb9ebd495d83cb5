"""Chat models and their prices (micro-dollars per million tokens)."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from spendlimits.directory.rows import columns, from_row


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
