"""Chat messages and their cost; spend is derived from these, never stored elsewhere by hand."""

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from spendlimits.directory.rows import columns, from_row


class MessageRole(enum.Enum):
    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"


@dataclass(frozen=True, slots=True)
class ChatMessage:
    id: uuid.UUID
    chat_id: uuid.UUID
    role: str
    model_id: uuid.UUID | None
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    #: None when the model had no price: not counted toward spend.
    total_cost_micros: int | None
    deleted: bool
    created_at: datetime
    idempotency_key: str | None


COLUMNS = columns(ChatMessage)


async def get_messages(conn: AsyncConnection, ids: list[uuid.UUID]) -> dict[uuid.UUID, ChatMessage]:
    rows = await conn.execute(text(f"SELECT {COLUMNS} FROM chat_messages WHERE id = ANY(:ids)"), {"ids": ids})
    return {m.id: m for m in (from_row(ChatMessage, r) for r in rows)}
