"""API tokens: random secrets, stored as SHA-256 hashes, revocable.

A token is ``sl_`` followed by 32 random bytes in URL-safe base64 (256 bits). Because the secret is
uniformly random, a fast hash is enough: there is nothing to brute-force. The lookup is by hash, and
the stored hash is compared again in constant time so no timing of a comparison depends on the secret.
"""

import hashlib
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection

from spendlimits.auth.principal import Principal, Role, Service
from spendlimits.db.driver import HotStatement
from spendlimits.directory.pages import Page
from spendlimits.errors import DomainError

PREFIX = "sl_"
#: How long a verified token stays accepted while the database cannot be reached (spec section 5).
OUTAGE_GRACE_SECONDS = 60.0


def new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8")).digest()


@dataclass(frozen=True, slots=True)
class ApiToken:
    id: uuid.UUID
    name: str
    user_id: uuid.UUID | None
    service: Service | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class CreatedToken:
    token: ApiToken
    #: The secret, returned once and never stored.
    secret: str


_COLUMNS = "id, name, user_id, service, created_at, last_used_at, revoked_at"


def _token(row: Row[Any]) -> ApiToken:
    m = row._mapping
    return ApiToken(
        id=m["id"],
        name=m["name"],
        user_id=m["user_id"],
        service=Service(m["service"]) if m["service"] else None,
        created_at=m["created_at"],
        last_used_at=m["last_used_at"],
        revoked_at=m["revoked_at"],
    )


def _check_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 128:
        raise DomainError("INVALID_INPUT", "Token name must be 1 to 128 characters.", ["input", "name"])
    return name


async def create_token(
    conn: AsyncConnection, *, name: str, user_id: uuid.UUID | None = None, service: Service | None = None
) -> CreatedToken:
    """Create a token for a live user or for a service account (exactly one of the two)."""
    if (user_id is None) == (service is None):
        raise DomainError("INVALID_INPUT", "Give exactly one of userId and service.", ["input"])
    name = _check_name(name)
    if user_id is not None:
        exists = await conn.scalar(
            text("SELECT true FROM users WHERE id = :id AND NOT deleted"), {"id": user_id}
        )
        if not exists:
            raise DomainError("USER_NOT_FOUND", "User not found.", ["input", "userId"])
    secret = new_secret()
    row = (
        await conn.execute(
            text(
                f"""
                INSERT INTO api_tokens (name, user_id, service, secret_hash)
                VALUES (:name, :user_id, :service, :hash)
                RETURNING {_COLUMNS}
                """
            ),
            {
                "name": name,
                "user_id": user_id,
                "service": service.value if service else None,
                "hash": hash_secret(secret),
            },
        )
    ).one()
    return CreatedToken(token=_token(row), secret=secret)


async def revoke_token(conn: AsyncConnection, token_id: uuid.UUID) -> ApiToken:
    row = (
        await conn.execute(
            text(
                f"""
                UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now())
                WHERE id = :id RETURNING {_COLUMNS}
                """
            ),
            {"id": token_id},
        )
    ).one_or_none()
    if row is None:
        raise DomainError("TOKEN_NOT_FOUND", "API token not found.", ["input", "tokenId"])
    return _token(row)


async def get_tokens(conn: AsyncConnection, ids: list[uuid.UUID]) -> dict[uuid.UUID, ApiToken]:
    rows = await conn.execute(text(f"SELECT {_COLUMNS} FROM api_tokens WHERE id = ANY(:ids)"), {"ids": ids})
    return {t.id: t for t in map(_token, rows)}


# The page and the size of the whole list in one statement, as for users: the count row always
# exists and the page joins onto it.
_LIST_TOKENS = text(
    f"""
    WITH matched AS (
        SELECT {_COLUMNS} FROM api_tokens
        WHERE (CAST(:include_revoked AS boolean) OR revoked_at IS NULL)
          AND (CAST(:user_id AS uuid) IS NULL OR user_id = :user_id)
    )
    SELECT page.*, total.n AS total_count
    FROM (SELECT count(*) AS n FROM matched) AS total
    LEFT JOIN LATERAL (
        SELECT * FROM matched ORDER BY created_at DESC, id LIMIT :limit OFFSET :offset
    ) AS page ON true
    """
)


async def list_tokens(
    conn: AsyncConnection,
    *,
    limit: int,
    offset: int = 0,
    include_revoked: bool = True,
    user_id: uuid.UUID | None = None,
) -> Page[ApiToken]:
    """Tokens, newest first: metadata only (the secrets are not stored)."""
    rows = (
        await conn.execute(
            _LIST_TOKENS,
            {"include_revoked": include_revoked, "user_id": user_id, "limit": limit, "offset": offset},
        )
    ).all()
    return Page(items=[_token(r) for r in rows if r.id is not None], total_count=int(rows[0].total_count))


# One round trip: find the live token, stamp last_used_at at most once a minute (so a busy daemon
# does not write on every request), and read the user's role. Every request runs it: a
# HotStatement skips SQLAlchemy's per-statement work on autocommit connections.
# The stamp skips a row another transaction has locked (SKIP LOCKED): when a stamp is due, every
# request in flight with the same token would otherwise wait for the first one's commit, a WAL
# flush. That stalled all of the daemon's checks at once, about once a minute (128 ms at p99 under
# load, tests/reliability/test_mixed_load.py); a skipped stamp is written by the lock's holder.
_VERIFY = HotStatement(
    text(
        """
    WITH token AS (
        SELECT t.id, t.user_id, t.service, t.secret_hash, t.last_used_at
        FROM api_tokens t
        LEFT JOIN users u ON u.id = t.user_id
        WHERE t.secret_hash = :hash AND t.revoked_at IS NULL AND (t.user_id IS NULL OR NOT u.deleted)
    ), touched AS (
        UPDATE api_tokens SET last_used_at = now()
        WHERE id = (
            SELECT a.id FROM api_tokens a
            WHERE a.id = (SELECT id FROM token)
              AND (a.last_used_at IS NULL OR a.last_used_at < now() - interval '1 minute')
            FOR UPDATE SKIP LOCKED
        )
        RETURNING id
    )
    SELECT token.id, token.user_id, token.service, token.secret_hash, u.role,
           (SELECT count(*) FROM touched) AS touched
    FROM token LEFT JOIN users u ON u.id = token.user_id
    """
    )
)


async def verify_secret(conn: AsyncConnection, secret: str) -> Principal | None:
    """The principal a secret belongs to, or None when it is unknown, revoked or its user deleted."""
    digest = hash_secret(secret)
    # secret_hash is UNIQUE: one row at most.
    rows = await _VERIFY.fetch(conn, {"hash": digest})
    if not rows or not hmac.compare_digest(bytes(rows[0]["secret_hash"]), digest):
        return None
    row = rows[0]
    return Principal(
        token_id=row["id"],
        user_id=row["user_id"],
        role=Role(row["role"]) if row["role"] else None,
        service=Service(row["service"]) if row["service"] else None,
    )


class VerifiedTokenCache:
    """Principals verified recently, used only while the database cannot be reached.

    Normally every request checks the database, so a revoked token is refused at once; this cache
    only keeps the daemon's admission checks failing open (not 401) through an outage.
    """

    def __init__(self, grace_seconds: float = OUTAGE_GRACE_SECONDS, max_entries: int = 10_000) -> None:
        self._grace = grace_seconds
        self._max = max_entries
        self._entries: dict[bytes, tuple[float, Principal]] = {}

    def remember(self, secret: str, principal: Principal) -> None:
        if len(self._entries) >= self._max:
            self._evict(time.monotonic())
        self._entries[hash_secret(secret)] = (time.monotonic(), principal)

    def forget(self, secret: str) -> None:
        self._entries.pop(hash_secret(secret), None)

    def recall(self, secret: str) -> Principal | None:
        entry = self._entries.get(hash_secret(secret))
        if entry is None or time.monotonic() - entry[0] > self._grace:
            return None
        return entry[1]

    def _evict(self, now: float) -> None:
        self._entries = {k: v for k, v in self._entries.items() if now - v[0] <= self._grace}
        while len(self._entries) >= self._max:
            self._entries.pop(next(iter(self._entries)))
