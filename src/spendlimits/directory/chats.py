"""Chats: the unit that carries an owner and an organization for every message's cost."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from spendlimits.directory.rows import columns, from_row


@dataclass(frozen=True, slots=True)
class Chat:
    id: uuid.UUID
    owner_id: uuid.UUID
    organization_id: uuid.UUID
    parent_chat_id: uuid.UUID | None
    title: str
    archived: bool
    created_at: datetime


COLUMNS = columns(Chat)


async def get_chats(conn: AsyncConnection, ids: list[uuid.UUID]) -> dict[uuid.UUID, Chat]:
    rows = await conn.execute(text(f"SELECT {COLUMNS} FROM chats WHERE id = ANY(:ids)"), {"ids": ids})
    return {c.id: c for c in (from_row(Chat, r) for r in rows)}
