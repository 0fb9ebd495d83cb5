"""Chats: the unit that carries an owner and an organization for every message's cost."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from spendlimits.directory.names import check_text
from spendlimits.directory.rows import columns, from_row
from spendlimits.errors import DomainError


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


async def chat_total_costs(conn: AsyncConnection, chat_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """The summed cost of each chat's messages, soft-deleted ones included; chats with no priced
    message are absent (their total is 0)."""
    rows = await conn.execute(
        text(
            """
            SELECT chat_id, sum(total_cost_micros) AS total
            FROM chat_messages
            WHERE chat_id = ANY(:ids) AND total_cost_micros IS NOT NULL
            GROUP BY chat_id
            """
        ),
        {"ids": chat_ids},
    )
    return {r.chat_id: int(r.total) for r in rows}


async def ensure_chat(
    conn: AsyncConnection,
    *,
    owner_id: uuid.UUID,
    organization_id: uuid.UUID,
    title: str = "",
    parent_chat_id: uuid.UUID | None = None,
    chat_id: uuid.UUID | None = None,
    created_at: datetime | None = None,
) -> tuple[Chat, bool]:
    """Creates a chat (with ``chat_id`` when given, for re-runnable imports); True when created.

    The owner must be a live user; a child chat must have its parent's owner, since its spend is
    its owner's, and its parent's organization, since a group limit counts the spend of one
    organization (the database refuses both, migrations 000001 and 000004). A chat that already
    has ``chat_id`` is returned when it matches, else refused.
    """
    check_text(title, "Title", 512, ["input", "title"])
    found = (
        await conn.execute(
            text(
                """
                SELECT EXISTS (SELECT 1 FROM users WHERE id = :owner_id AND NOT deleted) AS owner_found,
                       EXISTS (SELECT 1 FROM organizations WHERE id = :organization_id) AS organization_found,
                       parent.owner_id AS parent_owner_id,
                       parent.organization_id AS parent_organization_id
                FROM (SELECT) AS one
                LEFT JOIN chats AS parent ON parent.id = CAST(:parent_chat_id AS uuid)
                """
            ),
            {"owner_id": owner_id, "organization_id": organization_id, "parent_chat_id": parent_chat_id},
        )
    ).one()
    if not found.owner_found:
        raise DomainError("USER_NOT_FOUND", "Owner not found.", ["input", "ownerId"])
    if not found.organization_found:
        raise DomainError("ORGANIZATION_NOT_FOUND", "Organization not found.", ["input", "organizationId"])
    if parent_chat_id is not None:
        if found.parent_owner_id is None:
            raise DomainError("CHAT_NOT_FOUND", "Parent chat not found.", ["input", "parentChatId"])
        if found.parent_owner_id != owner_id:
            raise DomainError(
                "INVALID_INPUT", "A child chat must have its parent chat's owner.", ["input", "parentChatId"]
            )
        if found.parent_organization_id != organization_id:
            raise DomainError(
                "INVALID_INPUT",
                "A child chat must be in its parent chat's organization.",
                ["input", "organizationId"],
            )
    row = (
        await conn.execute(
            text(
                f"""
                INSERT INTO chats (id, owner_id, organization_id, parent_chat_id, title, created_at)
                VALUES (coalesce(CAST(:id AS uuid), gen_random_uuid()), :owner_id, :organization_id,
                        :parent_chat_id, :title, coalesce(CAST(:created_at AS timestamptz), now()))
                ON CONFLICT (id) DO NOTHING
                RETURNING {COLUMNS}
                """
            ),
            {
                "id": chat_id,
                "owner_id": owner_id,
                "organization_id": organization_id,
                "parent_chat_id": parent_chat_id,
                "title": title,
                "created_at": created_at,
            },
        )
    ).one_or_none()
    if row is not None:
        return from_row(Chat, row), True
    assert chat_id is not None, "only a given id can conflict"
    existing = (await get_chats(conn, [chat_id]))[chat_id]
    if (existing.owner_id, existing.organization_id, existing.parent_chat_id) != (
        owner_id,
        organization_id,
        parent_chat_id,
    ):
        raise DomainError(
            "ALREADY_EXISTS",
            "A chat with this id already exists with another owner, organization or parent.",
            ["input", "chatId"],
        )
    return existing, False


async def create_chat(
    conn: AsyncConnection,
    *,
    owner_id: uuid.UUID,
    organization_id: uuid.UUID,
    title: str = "",
    parent_chat_id: uuid.UUID | None = None,
) -> Chat:
    chat, _ = await ensure_chat(
        conn, owner_id=owner_id, organization_id=organization_id, title=title, parent_chat_id=parent_chat_id
    )
    return chat


async def set_chat_archived(conn: AsyncConnection, chat_id: uuid.UUID, archived: bool) -> Chat:
    """Archived or not, a chat's messages count toward its owner's spend."""
    row = (
        await conn.execute(
            text(
                f"""
                UPDATE chats SET archived = :archived,
                    updated_at = CASE WHEN archived = :archived THEN updated_at ELSE now() END
                WHERE id = :id RETURNING {COLUMNS}
                """
            ),
            {"id": chat_id, "archived": archived},
        )
    ).one_or_none()
    if row is None:
        raise DomainError("CHAT_NOT_FOUND", "Chat not found.", ["input", "chatId"])
    return from_row(Chat, row)
