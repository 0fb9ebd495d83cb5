"""Users: the people (and system accounts) whose spend is limited."""

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from spendlimits.auth.principal import Role
from spendlimits.directory.rows import columns
from spendlimits.errors import DomainError

USERNAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,62}[A-Za-z0-9])?$")


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
    if not USERNAME.match(username):
        raise DomainError(
            "INVALID_INPUT",
            "Username must be 1 to 64 letters, digits, '.', '_' or '-', starting and ending with a "
            "letter or digit.",
            field,
        )
    return username


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
    if len(name) > 128:
        raise DomainError("INVALID_INPUT", "Name must be at most 128 characters.", ["input", "name"])
    if email is not None and not (3 <= len(email) <= 254 and "@" in email):
        raise DomainError("INVALID_INPUT", "Email must be an address like a@b.c.", ["input", "email"])
    if len(avatar_url) > 2048:
        raise DomainError(
            "INVALID_INPUT", "Avatar URL must be at most 2048 characters.", ["input", "avatarUrl"]
        )
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
