"""Organizations. Each has an Everyone group whose id is the organization's id."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from spendlimits.directory.names import check_name, check_text
from spendlimits.directory.rows import columns, from_row
from spendlimits.errors import DomainError


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


async def list_organizations(conn: AsyncConnection) -> list[Organization]:
    """Every organization, ordered by name."""
    rows = await conn.execute(text(f"SELECT {COLUMNS} FROM organizations ORDER BY name, id"))
    return [from_row(Organization, r) for r in rows]


async def organizations_of_users(
    conn: AsyncConnection, user_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[Organization]]:
    """Each user's organizations, ordered by name; users in none are absent."""
    rows = await conn.execute(
        text(
            f"""
            SELECT om.user_id AS member_id, {columns(Organization, "o")}
            FROM organization_members om JOIN organizations o ON o.id = om.organization_id
            WHERE om.user_id = ANY(:ids)
            ORDER BY o.name, o.id
            """
        ),
        {"ids": user_ids},
    )
    found: dict[uuid.UUID, list[Organization]] = {}
    for r in rows:
        found.setdefault(r.member_id, []).append(from_row(Organization, r))
    return found


async def ensure_organization(
    conn: AsyncConnection, *, name: str, display_name: str = ""
) -> tuple[Organization, bool]:
    """The organization named ``name`` (case-insensitively), created if missing; True when created.

    The database creates its Everyone group. An existing organization is returned unchanged.
    """
    check_name(name, "Organization name", ["input", "name"])
    check_text(display_name, "Display name", 128, ["input", "displayName"])
    row = (
        await conn.execute(
            text(
                f"""
                INSERT INTO organizations (name, display_name) VALUES (:name, :display_name)
                ON CONFLICT ((lower(name))) DO NOTHING
                RETURNING {COLUMNS}
                """
            ),
            {"name": name, "display_name": display_name},
        )
    ).one_or_none()
    if row is not None:
        return from_row(Organization, row), True
    existing = await find_organization_by_name(conn, name)
    assert existing is not None, "ON CONFLICT found an organization that cannot be read back"
    return existing, False


async def create_organization(conn: AsyncConnection, *, name: str, display_name: str = "") -> Organization:
    organization, created = await ensure_organization(conn, name=name, display_name=display_name)
    if not created:
        raise DomainError(
            "ALREADY_EXISTS", f"An organization named {name!r} already exists.", ["input", "name"]
        )
    return organization


async def find_organization_by_name(conn: AsyncConnection, name: str) -> Organization | None:
    row = (
        await conn.execute(
            text(f"SELECT {COLUMNS} FROM organizations WHERE lower(name) = lower(:name)"), {"name": name}
        )
    ).one_or_none()
    return from_row(Organization, row) if row else None
