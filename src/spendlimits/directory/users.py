"""Users: the people (and system accounts) whose spend is limited."""

import functools
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, TextClause, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from spendlimits.auth.principal import Role
from spendlimits.directory.names import check_name, check_text
from spendlimits.directory.pages import Page, Slice, SortKey, like_pattern
from spendlimits.directory.rows import columns
from spendlimits.errors import DomainError


@dataclass(frozen=True, slots=True)
class User:
    id: uuid.UUID
    username: str
    name: str
    email: str | None
    avatar_url: str
    role: Role
    is_system: bool
    deleted: bool
    chat_spend_limit_micros: int | None
    created_at: datetime


COLUMNS = columns(User)


def user_from_row(row: Row[Any]) -> User:
    m = row._mapping
    return User(
        id=m["id"],
        username=m["username"],
        name=m["name"],
        email=m["email"],
        avatar_url=m["avatar_url"],
        role=Role(m["role"]),
        is_system=m["is_system"],
        deleted=m["deleted"],
        chat_spend_limit_micros=m["chat_spend_limit_micros"],
        created_at=m["created_at"],
    )


def check_username(username: str, field: list[str]) -> str:
    return check_name(username, "Username", field)


def check_email(email: str) -> str:
    if not (
        3 <= len(email) <= 254 and "@" in email and all(c.isprintable() and not c.isspace() for c in email)
    ):
        raise DomainError("INVALID_INPUT", "Email must be an address like a@b.c.", ["input", "email"])
    return email


async def create_user(
    conn: AsyncConnection,
    *,
    username: str,
    role: Role = Role.MEMBER,
    name: str = "",
    email: str | None = None,
    avatar_url: str = "",
    is_system: bool = False,
) -> User:
    check_username(username, ["input", "username"])
    check_text(name, "Name", 128, ["input", "name"])
    if email is not None:
        check_email(email)
    check_text(avatar_url, "Avatar URL", 2048, ["input", "avatarUrl"])
    try:
        async with conn.begin_nested():
            row = (
                await conn.execute(
                    text(
                        f"""
                        INSERT INTO users (username, name, email, avatar_url, role, is_system)
                        VALUES (:username, :name, :email, :avatar_url, :role, :is_system)
                        RETURNING {COLUMNS}
                        """
                    ),
                    {
                        "username": username,
                        "name": name,
                        "email": email,
                        "avatar_url": avatar_url,
                        "role": role.value,
                        "is_system": is_system,
                    },
                )
            ).one()
    except IntegrityError as exc:
        if "users_username_key" in str(exc.orig):
            raise DomainError(
                "ALREADY_EXISTS", f"A user named {username!r} already exists.", ["input", "username"]
            ) from None
        raise
    return user_from_row(row)


async def get_users(conn: AsyncConnection, ids: list[uuid.UUID]) -> dict[uuid.UUID, User]:
    rows = await conn.execute(text(f"SELECT {COLUMNS} FROM users WHERE id = ANY(:ids)"), {"ids": ids})
    return {u.id: u for u in map(user_from_row, rows)}


async def find_user_by_username(conn: AsyncConnection, username: str) -> User | None:
    row = (
        await conn.execute(
            text(f"SELECT {COLUMNS} FROM users WHERE lower(username) = lower(:u) AND NOT deleted"),
            {"u": username},
        )
    ).one_or_none()
    return user_from_row(row) if row else None


def _list_filter(search: bool, include_deleted: bool) -> str:
    # Spelled out per variant rather than as "(:flag OR NOT deleted)": the service's connections
    # use generic plans, which could not use the partial index behind a parameter.
    conditions = [] if include_deleted else ["NOT deleted"]
    if search:
        conditions.append("(username ILIKE :pattern OR name ILIKE :pattern OR email ILIKE :pattern)")
    return " AND ".join(conditions) or "true"


@functools.cache
def _page_statement(search: bool, include_deleted: bool, keyset: bool) -> TextClause:
    after = " AND (username, id) > (:after_name, CAST(:after_id AS uuid))" if keyset else ""
    return text(
        f"""
        SELECT {COLUMNS} FROM users WHERE {_list_filter(search, include_deleted)}{after}
        ORDER BY username, id LIMIT :limit OFFSET :offset
        """
    )


async def users_page(
    conn: AsyncConnection,
    *,
    limit: int,
    after: SortKey | None = None,
    offset: int = 0,
    search: str | None = None,
    include_deleted: bool = False,
) -> Slice[User]:
    """Users ordered by username (then id), live ones only unless ``include_deleted``; the page
    after ``after`` (read through an index: the cost is the page's, not the directory's) or, for
    old offset cursors, after ``offset`` rows.

    ``search`` matches a substring of the username, name or email, case-insensitively.
    """
    search = (search or "").strip()
    statement = _page_statement(bool(search), include_deleted, after is not None)
    params: dict[str, Any] = {"limit": limit + 1, "offset": offset}
    if search:
        params["pattern"] = like_pattern(search)
    if after is not None:
        params["after_name"], params["after_id"] = after
    rows = (await conn.execute(statement, params)).all()
    return Slice.of([user_from_row(r) for r in rows], limit)


async def count_users(
    conn: AsyncConnection, *, search: str | None = None, include_deleted: bool = False
) -> int:
    """How many users the list has. Without a search, one row that triggers keep current
    (migration 000007); a search counts its matches."""
    search = (search or "").strip()
    if not search:
        name = "users_all" if include_deleted else "users"
        return int((await conn.execute(_COUNT, {"name": name})).scalar_one())
    statement = text(f"SELECT count(*) FROM users WHERE {_list_filter(True, include_deleted)}")
    return int((await conn.execute(statement, {"pattern": like_pattern(search)})).scalar_one())


_COUNT = text("SELECT n FROM directory_counts WHERE name = :name")


async def list_users(
    conn: AsyncConnection,
    *,
    limit: int,
    offset: int = 0,
    search: str | None = None,
    include_deleted: bool = False,
) -> Page[User]:
    """A page of users_page with the list's total (two statements)."""
    page = await users_page(conn, limit=limit, offset=offset, search=search, include_deleted=include_deleted)
    total = await count_users(conn, search=search, include_deleted=include_deleted)
    return Page(items=page.items, total_count=total)


#: The database's name for the rule that a deployment keeps a live owner (migration 000004).
KEEP_AN_OWNER = "users_keep_an_owner"


def _refuses_last_owner(error: IntegrityError) -> bool:
    # asyncpg's exception (the adapted one's cause) names the constraint the trigger raised.
    cause = error.orig.__cause__ if error.orig is not None else None
    return getattr(cause, "constraint_name", None) == KEEP_AN_OWNER


async def _update_users(conn: AsyncConnection, statement: Any, params: dict[str, Any]) -> Row[Any] | None:
    """One UPDATE of a user's row; the last live owner's refusal becomes a LAST_OWNER error."""
    try:
        async with conn.begin_nested():
            return (await conn.execute(statement, params)).one_or_none()
    except IntegrityError as exc:
        if _refuses_last_owner(exc):
            raise DomainError(
                "LAST_OWNER",
                "The last owner cannot be deleted or demoted: make another user an owner first.",
                ["input", "userId"],
            ) from None
        raise


_DELETE_USER = text(
    f"""
    UPDATE users SET deleted = true, updated_at = CASE WHEN deleted THEN updated_at ELSE now() END
    WHERE id = :id RETURNING {COLUMNS}
    """
)


async def delete_user(conn: AsyncConnection, user_id: uuid.UUID) -> User:
    """Soft delete: the user keeps their chats and spend history but leaves every organization and
    group, loses their override, and their tokens are revoked. Their username becomes free.
    Deleting twice is harmless. The last live owner cannot be deleted (LAST_OWNER).
    """
    row = await _update_users(conn, _DELETE_USER, {"id": user_id})
    if row is None:
        raise DomainError("USER_NOT_FOUND", "User not found.", ["input", "userId"])
    # A second statement, so its snapshot includes memberships added by transactions that held the
    # user's row (membership writes lock it FOR SHARE) until the UPDATE above could proceed.
    await conn.execute(
        text(
            """
            WITH left_groups AS (DELETE FROM group_members WHERE user_id = :id),
                 left_organizations AS (DELETE FROM organization_members WHERE user_id = :id)
            UPDATE api_tokens SET revoked_at = now() WHERE user_id = :id AND revoked_at IS NULL
            """
        ),
        {"id": user_id},
    )
    return user_from_row(row)


# A field passed as NULL keeps its value (the `set_*` flags tell "keep" from "clear" for email).
_UPDATE_USER = text(
    f"""
    UPDATE users SET
        role = coalesce(CAST(:role AS text), role),
        name = coalesce(CAST(:name AS text), name),
        email = CASE WHEN :set_email THEN CAST(:email AS text) ELSE email END,
        avatar_url = coalesce(CAST(:avatar_url AS text), avatar_url),
        updated_at = now()
    WHERE id = :id AND NOT deleted
    RETURNING {COLUMNS}
    """
)


async def update_user(
    conn: AsyncConnection,
    user_id: uuid.UUID,
    *,
    role: Role | None = None,
    name: str | None = None,
    email: str | None = None,
    set_email: bool = False,
    avatar_url: str | None = None,
) -> User:
    """Changes a live user's role or profile; None keeps a field (``set_email`` to clear the email).

    The last live owner cannot be demoted (LAST_OWNER), whoever asks and however many ask at once:
    the database checks it under a lock (migration 000004).
    """
    if name is not None:
        check_text(name, "Name", 128, ["input", "name"])
    if set_email and email is not None:
        check_email(email)
    if avatar_url is not None:
        check_text(avatar_url, "Avatar URL", 2048, ["input", "avatarUrl"])
    row = await _update_users(
        conn,
        _UPDATE_USER,
        {
            "id": user_id,
            "role": None if role is None else role.value,
            "name": name,
            "email": email,
            "set_email": set_email,
            "avatar_url": avatar_url,
        },
    )
    if row is None:
        raise DomainError("USER_NOT_FOUND", "User not found.", ["input", "userId"])
    return user_from_row(row)


async def ensure_user(
    conn: AsyncConnection,
    *,
    username: str,
    role: Role = Role.MEMBER,
    name: str = "",
    email: str | None = None,
    avatar_url: str = "",
    is_system: bool = False,
) -> tuple[User, bool]:
    """The live user named ``username``, created if missing; True when created.

    An existing user is returned unchanged: bulk loads are re-runnable, not a way to edit users.
    """
    existing = await find_user_by_username(conn, check_username(username, ["input", "username"]))
    if existing is not None:
        return existing, False
    created = await create_user(
        conn, username=username, role=role, name=name, email=email, avatar_url=avatar_url, is_system=is_system
    )
    return created, True
