"""Groups of an organization, with an optional spend-limit override."""

import functools
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncConnection

from spendlimits.directory.names import check_name, check_text
from spendlimits.directory.pages import Page, Slice, SortKey
from spendlimits.directory.rows import columns, from_row
from spendlimits.directory.users import User, user_from_row
from spendlimits.errors import DomainError


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


@functools.cache
def _groups_page_statement(of_organization: bool, keyset: bool) -> TextClause:
    conditions = ["organization_id = :organization_id"] if of_organization else []
    if keyset:
        conditions.append("(name, id) > (:after_name, CAST(:after_id AS uuid))")
    where = " AND ".join(conditions) or "true"
    return text(f"SELECT {COLUMNS} FROM groups WHERE {where} ORDER BY name, id LIMIT :limit OFFSET :offset")


async def groups_page(
    conn: AsyncConnection,
    *,
    limit: int,
    after: SortKey | None = None,
    offset: int = 0,
    organization_id: uuid.UUID | None = None,
) -> Slice[Group]:
    """Groups ordered by name (then id), Everyone groups included; optionally of one organization.
    A keyset page after ``after`` (through an index), or after ``offset`` rows for old cursors."""
    params: dict[str, Any] = {"limit": limit + 1, "offset": offset, "organization_id": organization_id}
    if after is not None:
        params["after_name"], params["after_id"] = after
    statement = _groups_page_statement(organization_id is not None, after is not None)
    rows = (await conn.execute(statement, params)).all()
    return Slice.of([from_row(Group, r) for r in rows], limit)


async def count_groups(conn: AsyncConnection, *, organization_id: uuid.UUID | None = None) -> int:
    """How many groups the list has (an index-only count: groups are few next to users)."""
    if organization_id is None:
        return int((await conn.execute(text("SELECT count(*) FROM groups"))).scalar_one())
    statement = text("SELECT count(*) FROM groups WHERE organization_id = :organization_id")
    return int((await conn.execute(statement, {"organization_id": organization_id})).scalar_one())


async def list_groups(
    conn: AsyncConnection, *, limit: int, offset: int = 0, organization_id: uuid.UUID | None = None
) -> Page[Group]:
    """A page of groups_page with the list's total (two statements)."""
    page = await groups_page(conn, limit=limit, offset=offset, organization_id=organization_id)
    return Page(items=page.items, total_count=await count_groups(conn, organization_id=organization_id))


#: A user and an optional organization to keep that user's groups to.
UserInOrganization = tuple[uuid.UUID, uuid.UUID | None]


async def groups_of_users(
    conn: AsyncConnection, keys: list[UserInOrganization]
) -> dict[UserInOrganization, list[Group]]:
    """Each user's groups: explicit ones plus the Everyone group of each of their organizations.

    Ordered by name. Deleted users belong to no group. Keys with no groups are absent.
    """
    rows = await conn.execute(
        text(
            f"""
            SELECT k.user_id AS key_user_id, k.organization_id AS key_organization_id,
                   {columns(Group, "g")}
            FROM unnest(CAST(:user_ids AS uuid[]), CAST(:organization_ids AS uuid[]))
                 AS k(user_id, organization_id)
            JOIN group_members_expanded e
              ON e.user_id = k.user_id
             AND (k.organization_id IS NULL OR e.organization_id = k.organization_id)
            JOIN groups g ON g.id = e.group_id
            ORDER BY g.name, g.id
            """
        ),
        {"user_ids": [k[0] for k in keys], "organization_ids": [k[1] for k in keys]},
    )
    found: dict[UserInOrganization, list[Group]] = {}
    for r in rows:
        found.setdefault((r.key_user_id, r.key_organization_id), []).append(from_row(Group, r))
    return found


async def group_member_counts(conn: AsyncConnection, group_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Members that are neither system users nor deleted, per group; 0 for an unknown group.

    An Everyone group counts its implicit members, so an organization's id gives the number of its
    live, non-system members.
    """
    rows = await conn.execute(
        text(
            """
            SELECT k.id, count(u.id) AS members
            FROM unnest(CAST(:ids AS uuid[])) AS k(id)
            LEFT JOIN group_members_expanded e ON e.group_id = k.id
            LEFT JOIN users u ON u.id = e.user_id AND NOT u.is_system
            GROUP BY k.id
            """
        ),
        {"ids": group_ids},
    )
    return {r.id: int(r.members) for r in rows}


#: A group and the page of its members asked for: (group id, limit, offset).
MembersPage = tuple[uuid.UUID, int, int]


async def group_members(conn: AsyncConnection, keys: list[MembersPage]) -> dict[MembersPage, list[User]]:
    """Pages of members (the users ``group_member_counts`` counts), ordered by username.

    One statement for any number of groups and page sizes. Keys with no members are absent.
    """
    rows = await conn.execute(
        text(
            f"""
            SELECT k.group_id AS key_group_id, k.lim AS key_limit, k.off AS key_offset, m.*
            FROM unnest(CAST(:group_ids AS uuid[]), CAST(:limits AS int[]), CAST(:offsets AS int[]))
                 AS k(group_id, lim, off)
            CROSS JOIN LATERAL (
                SELECT {columns(User, "u")}
                FROM group_members_expanded e JOIN users u ON u.id = e.user_id
                WHERE e.group_id = k.group_id AND NOT u.is_system
                ORDER BY u.username, u.id
                LIMIT k.lim OFFSET k.off
            ) AS m
            ORDER BY m.username, m.id
            """
        ),
        {
            "group_ids": [k[0] for k in keys],
            "limits": [k[1] for k in keys],
            "offsets": [k[2] for k in keys],
        },
    )
    found: dict[MembersPage, list[User]] = {}
    for r in rows:
        found.setdefault((r.key_group_id, r.key_limit, r.key_offset), []).append(user_from_row(r))
    return found


async def ensure_group(
    conn: AsyncConnection,
    *,
    organization_id: uuid.UUID,
    name: str,
    display_name: str = "",
    avatar_url: str = "",
) -> tuple[Group, bool]:
    """The organization's group named ``name``, created if missing; True when created.

    An existing group is returned unchanged. An organization's Everyone group is named "Everyone",
    so that name is always taken.
    """
    check_name(name, "Group name", ["input", "name"])
    check_text(display_name, "Display name", 128, ["input", "displayName"])
    check_text(avatar_url, "Avatar URL", 2048, ["input", "avatarUrl"])
    row = (
        await conn.execute(
            text(
                f"""
                INSERT INTO groups (organization_id, name, display_name, avatar_url)
                SELECT o.id, :name, :display_name, :avatar_url FROM organizations o WHERE o.id = :organization_id
                ON CONFLICT (organization_id, name) DO NOTHING
                RETURNING {COLUMNS}
                """
            ),
            {
                "organization_id": organization_id,
                "name": name,
                "display_name": display_name,
                "avatar_url": avatar_url,
            },
        )
    ).one_or_none()
    if row is not None:
        return from_row(Group, row), True
    existing = await find_group_by_name(conn, organization_id, name)
    if existing is None:
        raise DomainError("ORGANIZATION_NOT_FOUND", "Organization not found.", ["input", "organizationId"])
    return existing, False


async def create_group(
    conn: AsyncConnection,
    *,
    organization_id: uuid.UUID,
    name: str,
    display_name: str = "",
    avatar_url: str = "",
) -> Group:
    group, created = await ensure_group(
        conn, organization_id=organization_id, name=name, display_name=display_name, avatar_url=avatar_url
    )
    if not created:
        raise DomainError(
            "ALREADY_EXISTS", f"The organization already has a group named {name!r}.", ["input", "name"]
        )
    return group


async def find_group_by_name(conn: AsyncConnection, organization_id: uuid.UUID, name: str) -> Group | None:
    row = (
        await conn.execute(
            text(f"SELECT {COLUMNS} FROM groups WHERE organization_id = :organization_id AND name = :name"),
            {"organization_id": organization_id, "name": name},
        )
    ).one_or_none()
    return from_row(Group, row) if row else None
