"""Reservations: admission and the hold in one atomic step, so concurrent calls cannot overspend.

Coder's check reads spend, lets the call run and records its cost afterwards, so concurrent calls
can all pass. Here the daemon reserves an estimate before the call (``reserve``), and afterwards
settles the actual cost (``settle``) or releases the hold (``release``). Guarantee (docs/design.md):
settled spend never exceeds the limit when every call's actual cost is at most its estimate and it
is settled within its TTL, whatever the number of callers, processes or machines.

Why it holds: reserves of one user are serialised by a PostgreSQL advisory transaction lock on the
user (never a process-local lock), and each decides on spend + live holds + estimate read in one
statement, after the previous holder of the lock committed. Settle swaps a hold for a cost no
larger than it, in one transaction, so any snapshot sees either the hold or the cost.
"""

import enum
import hashlib
import json
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from spendlimits.db.deadline import CannotEvaluate, within_deadline
from spendlimits.directory.cost import MAX_COST_MICROS
from spendlimits.directory.ingest import MAX_IDEMPOTENCY_KEY_LENGTH, NewMessage, record_message
from spendlimits.directory.messages import ChatMessage
from spendlimits.errors import DomainError
from spendlimits.limits.check import EXCEEDED_MESSAGE, CheckResult, Exceeded, cannot_evaluate
from spendlimits.limits.config import check_reservation_ttl
from spendlimits.limits.status import Status, statuses

# The first half of the advisory lock key (the second is a hash of the user id): keeps these locks
# apart from any other two-key advisory locks. A hash collision only serialises two users.
USER_LOCK_CLASS = 0x53504C52  # "SPLR"


class ReservationState(enum.Enum):
    """Values are as stored in ``chat_spend_reservations.state``."""

    HELD = "held"
    SETTLED = "settled"
    RELEASED = "released"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class Reservation:
    id: uuid.UUID
    user_id: uuid.UUID
    #: The scope it was admitted in; None means all of the user's organizations.
    organization_id: uuid.UUID | None
    chat_id: uuid.UUID | None
    amount_micros: int
    #: As stored: a HELD row past its expiry may not have been tidied yet; see ``state_at``.
    stored_state: ReservationState
    created_at: datetime
    expires_at: datetime
    #: When it left HELD.
    ended_at: datetime | None
    #: The message recorded by settle.
    message_id: uuid.UUID | None

    def state_at(self, now: datetime) -> ReservationState:
        """The state as callers should see it: a HELD reservation past its expiry is EXPIRED."""
        if self.stored_state is ReservationState.HELD and self.expires_at <= now:
            return ReservationState.EXPIRED
        return self.stored_state


_COLUMNS = "id, user_id, organization_id, chat_id, amount_micros, state, created_at, expires_at, ended_at, message_id"


def _reservation(row: Row[Any]) -> Reservation:
    return Reservation(
        id=row.id,
        user_id=row.user_id,
        organization_id=row.organization_id,
        chat_id=row.chat_id,
        amount_micros=row.amount_micros,
        stored_state=ReservationState(row.state),
        created_at=row.created_at,
        expires_at=row.expires_at,
        ended_at=row.ended_at,
        message_id=row.message_id,
    )


@dataclass(frozen=True, slots=True)
class ReserveRequest:
    user_id: uuid.UUID
    estimate_micros: int
    #: The organization the check would be asked about (spec section 4 scoping).
    organization_id: uuid.UUID | None = None
    #: Must be one of the user's chats (in ``organization_id`` when both are given).
    chat_id: uuid.UUID | None = None
    #: None: the configured reservation TTL.
    ttl_seconds: int | None = None
    idempotency_key: str | None = None

    def digest(self) -> bytes:
        """What makes two reserve requests "the same input": every field but the key."""
        canonical = {
            "user_id": str(self.user_id),
            "organization_id": str(self.organization_id) if self.organization_id else None,
            "chat_id": str(self.chat_id) if self.chat_id else None,
            "estimate_micros": self.estimate_micros,
            "ttl_seconds": self.ttl_seconds,
        }
        return hashlib.sha256(json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()).digest()


@dataclass(frozen=True, slots=True)
class Reserved:
    """The outcome of a reserve."""

    #: The hold; None when refused or when the decision could not be evaluated.
    reservation: Reservation | None
    #: The admission decision: ``exceeded`` is set when refused for the limit.
    check: CheckResult
    #: True when an earlier reservation with the same idempotency key was returned.
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class Settled:
    reservation: Reservation
    message: ChatMessage
    #: True when the message had been recorded before (a retried settle).
    replayed: bool


def _not_found() -> DomainError:
    return DomainError("RESERVATION_NOT_FOUND", "Reservation not found.", ["input", "reservationId"])


def _not_held() -> DomainError:
    return DomainError(
        "RESERVATION_NOT_HELD",
        "The reservation is no longer held: it was settled, released or has expired.",
        ["input", "reservationId"],
    )


def _check_request(request: ReserveRequest) -> None:
    """Every check that needs no database; raises DomainError."""
    if not 0 <= request.estimate_micros <= MAX_COST_MICROS:
        raise DomainError("INVALID_INPUT", "estimateMicros must be 0 or more.", ["input", "estimateMicros"])
    if request.ttl_seconds is not None:
        check_reservation_ttl(request.ttl_seconds, ["input", "ttlSeconds"])
    key = request.idempotency_key
    if key is not None and not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH:
        raise DomainError(
            "INVALID_INPUT",
            f"idempotencyKey must be 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} characters.",
            ["input", "idempotencyKey"],
        )


async def reserve(
    engine: AsyncEngine,
    request: ReserveRequest,
    *,
    timeout_seconds: float,
    now: datetime | None = None,
) -> Reserved:
    """Admits and holds ``estimate_micros`` iff spend + live holds + estimate <= limit.

    Always admitted (and recorded) when limits are disabled. Same idempotency key and input: the
    same reservation, whatever has happened to it since. Raises DomainError for bad input, an
    unknown user, organization or chat. When the decision cannot be evaluated within
    ``timeout_seconds`` the enforcement mode answers, and nothing is held.
    """
    _check_request(request)
    at = now or datetime.now(UTC)
    try:
        return await within_deadline(_reserve(engine, request, at), timeout_seconds)
    except CannotEvaluate as exc:
        decision = cannot_evaluate(engine, f"chat spend reservation for user {request.user_id}", exc.cause)
        return Reserved(reservation=None, check=decision)


async def _reserve(engine: AsyncEngine, request: ReserveRequest, now: datetime) -> Reserved:
    async with engine.begin() as conn:
        await conn.execute(
            text("SELECT pg_advisory_xact_lock(:lock_class, hashtext(CAST(CAST(:user_id AS uuid) AS text)))"),
            {"lock_class": USER_LOCK_CLASS, "user_id": request.user_id},
        )
        earlier = await _replay(conn, request)
        key = (request.user_id, request.organization_id, None)
        # Read after the lock: under READ COMMITTED (the service's isolation level) each statement
        # takes a fresh snapshot, so this one sees every hold and settle committed by the lock's
        # previous holders. A snapshot taken before the lock (REPEATABLE READ) would not.
        found = (await statuses(conn, [key], now=now)).get(key)
        if found is None:
            raise DomainError("USER_NOT_FOUND", "User not found.", ["input", "userId"])
        if earlier is not None:
            return Reserved(reservation=earlier, check=_admitted(found), replayed=True)
        await _check_scope(conn, request)
        refused = _refusal(found, request.estimate_micros)
        if refused is not None:
            return Reserved(reservation=None, check=refused)
        return Reserved(reservation=await _hold(conn, request, now), check=_admitted(found))


async def _replay(conn: AsyncConnection, request: ReserveRequest) -> Reservation | None:
    """The reservation an earlier request with this key made, or None; a different input conflicts.

    Runs under the user's lock, so no concurrent reserve with the same key can slip in between.
    """
    if request.idempotency_key is None:
        return None
    row = (
        await conn.execute(
            text(
                f"""
                SELECT {_COLUMNS}, request_digest FROM chat_spend_reservations
                WHERE user_id = :user_id AND idempotency_key = :key
                """
            ),
            {"user_id": request.user_id, "key": request.idempotency_key},
        )
    ).one_or_none()
    if row is None:
        return None
    if bytes(row.request_digest) != request.digest():
        raise DomainError(
            "IDEMPOTENCY_CONFLICT",
            "This idempotencyKey was already used for a different reservation of this user.",
            ["input", "idempotencyKey"],
        )
    return _reservation(row)


async def _check_scope(conn: AsyncConnection, request: ReserveRequest) -> None:
    """The organization exists; the chat is the user's, in the organization when one is given."""
    if request.organization_id is None and request.chat_id is None:
        return
    row = (
        await conn.execute(
            text(
                """
                SELECT EXISTS (SELECT 1 FROM organizations WHERE id = CAST(:organization_id AS uuid)) AS org_found,
                       (SELECT organization_id FROM chats
                        WHERE id = CAST(:chat_id AS uuid) AND owner_id = :user_id) AS chat_organization_id
                """
            ),
            {
                "organization_id": request.organization_id,
                "chat_id": request.chat_id,
                "user_id": request.user_id,
            },
        )
    ).one()
    if request.organization_id is not None and not row.org_found:
        raise DomainError("ORGANIZATION_NOT_FOUND", "Organization not found.", ["input", "organizationId"])
    if request.chat_id is not None:
        if row.chat_organization_id is None:
            raise DomainError("CHAT_NOT_FOUND", "Chat not found among the user's chats.", ["input", "chatId"])
        if request.organization_id is not None and row.chat_organization_id != request.organization_id:
            raise DomainError(
                "INVALID_INPUT", "The chat belongs to another organization.", ["input", "chatId"]
            )


def _admitted(found: Status) -> CheckResult:
    return CheckResult(allowed=True, failed_open=False, status=found, exceeded=None)


def _refusal(found: Status, estimate_micros: int) -> CheckResult | None:
    """The refusal when spend + live holds + estimate would pass the limit; None to admit."""
    limit = found.limit.limit_micros
    if limit is None or found.period_end is None:
        return None
    if found.spend_micros + found.held_micros + estimate_micros <= limit:
        return None
    return CheckResult(
        allowed=False,
        failed_open=False,
        status=found,
        exceeded=Exceeded(
            message=EXCEEDED_MESSAGE,
            spent_micros=found.spend_micros,
            limit_micros=limit,
            resets_at=found.period_end,
        ),
    )


_HOLD = text(
    f"""
    WITH tidied AS (
        -- Expired holds of this user no longer count; marking them keeps the live index small.
        UPDATE chat_spend_reservations SET state = 'expired', ended_at = expires_at
        WHERE user_id = :user_id AND state = 'held' AND expires_at <= CAST(:now AS timestamptz)
    )
    INSERT INTO chat_spend_reservations
        (user_id, organization_id, chat_id, amount_micros, created_at, expires_at, idempotency_key, request_digest)
    SELECT :user_id, :organization_id, :chat_id, :amount,
           CAST(:now AS timestamptz),
           CAST(:now AS timestamptz) + make_interval(secs => coalesce(:ttl, c.reservation_ttl_seconds)),
           :key, :digest
    FROM chat_usage_limit_config c
    RETURNING {_COLUMNS}
    """
)


async def _hold(conn: AsyncConnection, request: ReserveRequest, now: datetime) -> Reservation:
    keyed = request.idempotency_key is not None
    row = (
        await conn.execute(
            _HOLD,
            {
                "user_id": request.user_id,
                "organization_id": request.organization_id,
                "chat_id": request.chat_id,
                "amount": request.estimate_micros,
                "now": now,
                "ttl": request.ttl_seconds,
                "key": request.idempotency_key,
                "digest": request.digest() if keyed else None,
            },
        )
    ).one()
    return _reservation(row)


def _message_field(error: DomainError) -> DomainError:
    """A recordChatMessage error re-pointed at settle's ``input.message``."""
    field = error.field
    if field and field[0] == "input":
        field = ["input", "message", *field[1:]]
    return DomainError(error.code, error.message, field)


async def settle(
    conn: AsyncConnection, reservation_id: uuid.UUID, message: NewMessage, *, now: datetime | None = None
) -> Settled:
    """Records the call's message (recordChatMessage's rules) and ends the hold, exactly once.

    Run it in one transaction. Settling again returns the same message with ``replayed``; a
    different message for a settled reservation is IDEMPOTENCY_CONFLICT. An EXPIRED reservation
    still records the cost, and no limit is checked: the money is already spent. A RELEASED one is
    RESERVATION_NOT_HELD: releasing said the call never ran.
    """
    at = now or datetime.now(UTC)
    row = (
        await conn.execute(
            text(f"SELECT {_COLUMNS} FROM chat_spend_reservations WHERE id = :id FOR UPDATE"),
            {"id": reservation_id},
        )
    ).one_or_none()
    if row is None:
        raise _not_found()
    reservation = _reservation(row)
    if reservation.stored_state is ReservationState.RELEASED:
        raise _not_held()
    if reservation.stored_state is not ReservationState.SETTLED:
        await _check_message_chat(conn, reservation, message.chat_id)
    # Without a key of its own the message is keyed by the reservation, so a retried settle that
    # lost its answer finds the first message instead of recording a second one.
    keyed = (
        message
        if message.idempotency_key is not None
        else replace(message, idempotency_key=f"reservation:{reservation.id}")
    )
    try:
        recorded = await record_message(conn, keyed)
    except DomainError as error:
        raise _message_field(error) from None
    if reservation.stored_state is ReservationState.SETTLED:
        if recorded.message.id != reservation.message_id:
            raise DomainError(
                "IDEMPOTENCY_CONFLICT",
                "This reservation was already settled with a different message.",
                ["input", "message"],
            )
        return Settled(reservation=reservation, message=recorded.message, replayed=True)
    settled = (
        await conn.execute(
            text(
                f"""
                UPDATE chat_spend_reservations SET state = 'settled', message_id = :message_id, ended_at = :now
                WHERE id = :id
                  AND NOT EXISTS (SELECT 1 FROM chat_spend_reservations WHERE message_id = :message_id)
                RETURNING {_COLUMNS}
                """
            ),
            {"id": reservation.id, "message_id": recorded.message.id, "now": at},
        )
    ).one_or_none()
    if settled is None:
        raise DomainError(
            "IDEMPOTENCY_CONFLICT",
            "That message already settled another reservation.",
            ["input", "message", "idempotencyKey"],
        )
    return Settled(reservation=_reservation(settled), message=recorded.message, replayed=recorded.replayed)


async def _check_message_chat(conn: AsyncConnection, reservation: Reservation, chat_id: uuid.UUID) -> None:
    """The message's chat is the reservation user's, in its organization: where the hold counted."""
    chat = (
        await conn.execute(
            text("SELECT owner_id, organization_id FROM chats WHERE id = :id"), {"id": chat_id}
        )
    ).one_or_none()
    if chat is None:
        raise DomainError("CHAT_NOT_FOUND", "Chat not found.", ["input", "message", "chatId"])
    if chat.owner_id != reservation.user_id:
        raise DomainError(
            "INVALID_INPUT",
            "The message's chat must belong to the reservation's user.",
            ["input", "message", "chatId"],
        )
    if reservation.organization_id is not None and chat.organization_id != reservation.organization_id:
        raise DomainError(
            "INVALID_INPUT",
            "The message's chat must belong to the reservation's organization.",
            ["input", "message", "chatId"],
        )


async def release(
    conn: AsyncConnection, reservation_id: uuid.UUID, *, now: datetime | None = None
) -> Reservation:
    """HELD (and unexpired) -> RELEASED; anything else is RESERVATION_NOT_HELD."""
    at = now or datetime.now(UTC)
    row = (
        await conn.execute(
            text(
                f"""
                UPDATE chat_spend_reservations SET state = 'released', ended_at = :now
                WHERE id = :id AND state = 'held' AND expires_at > :now
                RETURNING {_COLUMNS}
                """
            ),
            {"id": reservation_id, "now": at},
        )
    ).one_or_none()
    if row is not None:
        return _reservation(row)
    exists = await conn.scalar(
        text("SELECT EXISTS (SELECT 1 FROM chat_spend_reservations WHERE id = :id)"), {"id": reservation_id}
    )
    raise _not_held() if exists else _not_found()


async def get_reservations(conn: AsyncConnection, ids: list[uuid.UUID]) -> dict[uuid.UUID, Reservation]:
    rows = await conn.execute(
        text(f"SELECT {_COLUMNS} FROM chat_spend_reservations WHERE id = ANY(:ids)"), {"ids": ids}
    )
    return {r.id: r for r in (_reservation(row) for row in rows)}
