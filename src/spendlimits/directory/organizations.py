"""Organizations. Each has an Everyone group whose id is the organization's id."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from spendlimits.directory.rows import columns, from_row


@dataclass(frozen=True, slots=True)
class Organization:
    id: uuid.UUID
    name: str
    display_name: str
    created_at: datetime


COLUMNS = columns(Organization)


async def get_organizations(conn: AsyncConnection, ids: list[uuid.UUID]) -> dict[uuid.UUID, Organization]:
    rows = await conn.execute(text(f"SELECT {COLUMNS} FROM organizations WHERE id = ANY(:ids)"), {"ids": ids})
    return {o.id: o for o in (from_row(Organization, r) for r in rows)}
