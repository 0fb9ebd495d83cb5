"""Per-user and per-group limit overrides (spec section 6), and the admin lists of them.

An override is a column (``users.chat_spend_limit_micros``, ``groups.chat_spend_limit_micros``);
NULL means none. Inputs are validated before anything is looked up, so a bad value for a missing
user is INVALID_SPEND_LIMIT, not USER_NOT_FOUND.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection

from spendlimits.directory import groups, users
from spendlimits.directory.pages import Page
from spendlimits.directory.rows import from_row
from spendlimits.errors import DomainError
from spendlimits.limits.config import check_spend_limit

USER_OVERRIDE_NOT_FOUND = "Chat usage limit override not found."
GROUP_OVERRIDE_NOT_FOUND = "Chat usage limit group override not found."


@dataclass(frozen=True, slots=True)
class UserOverride:
    user: users.User
    spend_limit_micros: int


@dataclass(frozen=True, slots=True)
class GroupOverride:
    group: groups.Group
    spend_limit_micros: int


def _user_not_found() -> DomainError:
    return DomainError("USER_NOT_FOUND", "User not found.", ["input", "userId"])


def _group_not_found() -> DomainError:
    return DomainError("GROUP_NOT_FOUND", "Group not found.", ["input", "groupId"])


async def upsert_user_override(
    conn: AsyncConnection, user_id: uuid.UUID, spend_limit_micros: int | None
) -> UserOverride:
    """Sets or replaces a live user's override."""
    limit = check_spend_limit(spend_limit_micros, ["input", "spendLimitMicros"])
    row = (
        await conn.execute(
            text(
                f"""
                UPDATE users SET chat_spend_limit_micros = :limit, updated_at = now()
                WHERE id = :id AND NOT deleted
                RETURNING {users.COLUMNS}
                """
            ),
            {"id": user_id, "limit": limit},
        )
    ).one_or_none()
    if row is None:
        raise _user_not_found()
    return UserOverride(user=users.user_from_row(row), spend_limit_micros=limit)


async def delete_user_override(conn: AsyncConnection, user_id: uuid.UUID) -> uuid.UUID:
    """Removes a live user's override; returns the user's id."""
    previous = await conn.execute(
        text(
            """
            UPDATE users u SET chat_spend_limit_micros = NULL, updated_at = now()
            FROM (SELECT id, chat_spend_limit_micros FROM users WHERE id = :id AND NOT deleted FOR UPDATE) old
            WHERE u.id = old.id
            RETURNING old.chat_spend_limit_micros
            """
        ),
        {"id": user_id},
    )
    row = previous.one_or_none()
    if row is None:
        raise _user_not_found()
    if row.chat_spend_limit_micros is None:
        # Raised inside the caller's transaction, so the touched updated_at is rolled back.
        raise DomainError("OVERRIDE_NOT_FOUND", USER_OVERRIDE_NOT_FOUND, ["input", "userId"])
    return user_id


async def upsert_group_override(
    conn: AsyncConnection, group_id: uuid.UUID, spend_limit_micros: int | None
) -> GroupOverride:
    """Sets or replaces a group's override (Everyone groups included)."""
    limit = check_spend_limit(spend_limit_micros, ["input", "spendLimitMicros"])
    row = (
        await conn.execute(
            text(
                f"""
                UPDATE groups SET chat_spend_limit_micros = :limit, updated_at = now()
                WHERE id = :id
                RETURNING {groups.COLUMNS}
                """
            ),
            {"id": group_id, "limit": limit},
        )
    ).one_or_none()
    if row is None:
        raise _group_not_found()
    return GroupOverride(group=from_row(groups.Group, row), spend_limit_micros=limit)


async def delete_group_override(conn: AsyncConnection, group_id: uuid.UUID) -> uuid.UUID:
    """Removes a group's override; returns the group's id."""
    row = (
        await conn.execute(
            text(
                """
                UPDATE groups g SET chat_spend_limit_micros = NULL, updated_at = now()
                FROM (SELECT id, chat_spend_limit_micros FROM groups WHERE id = :id FOR UPDATE) old
                WHERE g.id = old.id
                RETURNING old.chat_spend_limit_micros
                """
            ),
            {"id": group_id},
        )
    ).one_or_none()
    if row is None:
        raise _group_not_found()
    if row.chat_spend_limit_micros is None:
        raise DomainError("OVERRIDE_NOT_FOUND", GROUP_OVERRIDE_NOT_FOUND, ["input", "groupId"])
    return group_id


def _page_rows(rows: Sequence[Row[Any]]) -> tuple[list[Row[Any]], int]:
    """Splits the rows of a ``total LEFT JOIN LATERAL page`` query: an empty page is one null row."""
    total = int(rows[0].total) if rows else 0
    return [r for r in rows if r.id is not None], total


async def list_user_overrides(conn: AsyncConnection, *, limit: int, offset: int) -> Page[UserOverride]:
    """Live users with an override, ordered by username, with the total count (one statement)."""
    rows = (
        await conn.execute(
            text(
                f"""
                WITH total AS (
                    SELECT count(*) AS total FROM users
                    WHERE chat_spend_limit_micros IS NOT NULL AND NOT deleted
                )
                SELECT total.total, page.*
                FROM total
                LEFT JOIN LATERAL (
                    SELECT {users.COLUMNS} FROM users
                    WHERE chat_spend_limit_micros IS NOT NULL AND NOT deleted
                    ORDER BY username, id
                    LIMIT :limit OFFSET :offset
                ) page ON true
                """
            ),
            {"limit": limit, "offset": offset},
        )
    ).all()
    page, total = _page_rows(rows)
    return Page(
        items=[UserOverride(users.user_from_row(r), r.chat_spend_limit_micros) for r in page],
        total_count=total,
    )


async def list_group_overrides(conn: AsyncConnection, *, limit: int, offset: int) -> Page[GroupOverride]:
    """Groups with an override, ordered by name (then id: names repeat across organizations)."""
    rows = (
        await conn.execute(
            text(
                f"""
                WITH total AS (SELECT count(*) AS total FROM groups WHERE chat_spend_limit_micros IS NOT NULL)
                SELECT total.total, page.*
                FROM total
                LEFT JOIN LATERAL (
                    SELECT {groups.COLUMNS} FROM groups
                    WHERE chat_spend_limit_micros IS NOT NULL
                    ORDER BY name, id
                    LIMIT :limit OFFSET :offset
                ) page ON true
                """
            ),
            {"limit": limit, "offset": offset},
        )
    ).all()
    page, total = _page_rows(rows)
    return Page(
        items=[GroupOverride(from_row(groups.Group, r), r.chat_spend_limit_micros) for r in page],
        total_count=total,
    )
