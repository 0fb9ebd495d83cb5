"""Groups of an organization, with an optional spend-limit override."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from spendlimits.directory.rows import columns, from_row


@dataclass(frozen=True, slots=True)
class Group:
    id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    display_name: str
    avatar_url: str
    chat_spend_limit_micros: int | None
    created_at: datetime

    @property
    def is_everyone(self) -> bool:
        return self.id == self.organization_id


COLUMNS = columns(Group)


async def get_groups(conn: AsyncConnection, ids: list[uuid.UUID]) -> dict[uuid.UUID, Group]:
    rows = await conn.execute(text(f"SELECT {COLUMNS} FROM groups WHERE id = ANY(:ids)"), {"ids": ids})
    return {g.id: g for g in (from_row(Group, r) for r in rows)}
