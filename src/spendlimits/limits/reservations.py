"""Reservations: admission and the hold in one atomic step, so concurrent calls cannot overspend.

Coder's check reads spend, lets the call run and records its cost afterwards, so concurrent calls
can all pass. Here the daemon reserves an estimate before the call (``reserve``), and afterwards
settles the actual cost (``settle``) or releases the hold (``release``). Guarantee (docs/design.md):
settled spend never exceeds the limit when every call's actual cost is at most its estimate and it
is settled within its TTL, whatever the number of callers, processes or machines.

Why it holds: a reserve is ONE call of the SQL function ``spendlimits_reserve`` (migration 000003)
in autocommit. Reserves of one user are serialised by a PostgreSQL advisory transaction lock on the
user (never a process-local lock), held for that call's execution only, never across Python
scheduling or network round trips; each decides on spend + live holds + estimate read after the
previous holder of the lock committed. The database enforces the caller's deadline: the lock wait
is bounded by ``lock_timeout`` and nothing is written once ``clock_timestamp()`` is past the
deadline, so an answer of "nothing held" stays true. Settle is ONE call of ``spendlimits_settle``
(migration 000009) in autocommit: it swaps a hold for a cost no larger than it in that call's one
transaction, so any snapshot sees either the hold or the cost.
"""

import asyncio
import enum
import hashlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from spendlimits.db.deadline import CannotEvaluate, within_deadline
from spendlimits.db.driver import HotStatement, Row
from spendlimits.directory import ingest
from spendlimits.directory.cost import MAX_COST_MICROS, cost_too_large
from spendlimits.directory.ingest import MAX_IDEMPOTENCY_KEY_LENGTH, NewMessage
from spendlimits.directory.messages import ChatMessage
from spendlimits.errors import DomainError
from spendlimits.limits.check import CheckResult, cannot_evaluate, decide
from spendlimits.limits.config import check_reservation_ttl
from spendlimits.limits.enforcement import EnforcementMode, remember_mode
from spendlimits.limits.status import status_from_row, window_params

log = logging.getLogger(__name__)


_MESSAGE_FIELDS = tuple(f.name for f in fields(ChatMessage))


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


def _reservation(row: Row) -> Reservation:
    return Reservation(
        id=row["id"],
        user_id=row["user_id"],
        organization_id=row["organization_id"],
        chat_id=row["chat_id"],
        amount_micros=row["amount_micros"],
        stored_state=ReservationState(row["state"]),
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        ended_at=row["ended_at"],
        message_id=row["message_id"],
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


#: The share of the budget kept between the database's deadline and the answer's: room for the
#: database's answer to reach a loaded server, and for a database clock a little behind. Past its
#: deadline the database writes nothing, so a hold is committed before the answer goes out or never.
DEADLINE_MARGIN_SHARE = 0.1

_RESERVE = HotStatement(
    text(
        """
        SELECT * FROM spendlimits_reserve(
            CAST(:user_id AS uuid), CAST(:organization_id AS uuid), CAST(:chat_id AS uuid),
            CAST(:estimate AS bigint), CAST(:ttl AS integer), CAST(:key AS text), CAST(:digest AS bytea),
            CAST(:now AS timestamptz), CAST(:window_periods AS text[]), CAST(:window_first_days AS date[]),
            CAST(:window_end_days AS date[]), CAST(:deadline AS timestamptz), CAST(:budget_ms AS integer))
        """
    )
)

# The function's outcomes that are the caller's mistakes, as the errors the API has always given.
_OUTCOME_ERRORS = {
    "idempotency_conflict": (
        "IDEMPOTENCY_CONFLICT",
        "This idempotencyKey was already used for a different reservation of this user.",
        ["input", "idempotencyKey"],
    ),
    "user_not_found": ("USER_NOT_FOUND", "User not found.", ["input", "userId"]),
    "organization_not_found": (
        "ORGANIZATION_NOT_FOUND",
        "Organization not found.",
        ["input", "organizationId"],
    ),
    "chat_not_found": ("CHAT_NOT_FOUND", "Chat not found among the user's chats.", ["input", "chatId"]),
    "chat_in_other_organization": (
        "INVALID_INPUT",
        "The chat belongs to another organization.",
        ["input", "chatId"],
    ),
}


async def reserve(
    engine: AsyncEngine,
    request: ReserveRequest,
    *,
    timeout_seconds: float,
    now: datetime | None = None,
) -> Reserved:
    """Admits and holds ``estimate_micros`` iff spend < limit and spend + live holds + estimate <= limit.

    Always admitted (and recorded) when limits are disabled. Same idempotency key and input: the
    same reservation, whatever has happened to it since. Raises DomainError for bad input, an
    unknown user, organization or chat. When the decision cannot be evaluated within
    ``timeout_seconds`` (the database unreachable, erroring, or past the whole budget) the
    enforcement mode answers, and nothing is held, then or later: the database writes nothing past
    the deadline. Waiting behind the same user's other reserves is part of the work, not a failure.
    """
    _check_request(request)
    at = now or datetime.now(UTC)
    deadline = time.time() + timeout_seconds * (1 - DEADLINE_MARGIN_SHARE)

    async def undo(late: Reserved) -> None:
        await _undo_late_hold(engine, late)

    try:
        return await within_deadline(_reserve(engine, request, at, deadline), timeout_seconds, undo_late=undo)
    except CannotEvaluate as exc:
        decision = cannot_evaluate(engine, f"chat spend reservation for user {request.user_id}", exc.cause)
        return Reserved(reservation=None, check=decision)


async def _reserve(engine: AsyncEngine, request: ReserveRequest, now: datetime, deadline: float) -> Reserved:
    """One call of ``spendlimits_reserve`` in autocommit: lock, replay, status, rule and hold."""
    async with _connection(engine, deadline) as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        budget_ms = max(int((deadline - time.time()) * 1000), 1)
        windows = window_params([now])
        keyed = request.idempotency_key is not None
        params = {
            "user_id": request.user_id,
            "organization_id": request.organization_id,
            "chat_id": request.chat_id,
            "estimate": request.estimate_micros,
            "ttl": request.ttl_seconds,
            "key": request.idempotency_key,
            "digest": request.digest() if keyed else None,
            "now": now,
            "window_periods": windows["window_periods"],
            "window_first_days": windows["window_first_days"],
            "window_end_days": windows["window_end_days"],
            "deadline": datetime.fromtimestamp(deadline, UTC),
            "budget_ms": budget_ms,
        }
        try:
            [row] = await _RESERVE.fetch(conn, params, resend_on_error=False)
        except (asyncpg.InterfaceError, OSError):
            # The connection itself broke: keep it out of the pool.
            await conn.invalidate()
            raise
    outcome = row["outcome"]
    if outcome in _OUTCOME_ERRORS:
        raise DomainError(*_OUTCOME_ERRORS[outcome])
    remember_mode(engine, EnforcementMode(row["status_enforcement_mode"]))
    found = status_from_row(_Columns(row, "status_"), now)
    if outcome == "refused":
        return Reserved(reservation=None, check=decide(found, allowed=False))
    held = _reservation(_Columns(row, "reservation_"))
    return Reserved(reservation=held, check=decide(found, allowed=True), replayed=outcome == "replayed")


@asynccontextmanager
async def _connection(engine: AsyncEngine, deadline: float) -> AsyncIterator[AsyncConnection]:
    """A pooled connection, or CannotEvaluate once ``deadline`` has passed without one.

    A reserve abandoned at its deadline is left to finish (its statement may be on the way), but
    while it only waits for a connection it has sent nothing, so it stops waiting there. Otherwise,
    with a frozen database holding every pooled connection, each reserve abandoned meanwhile stayed
    queued for the pool's own 30 s timeout, and after the thaw fresh requests waited behind that
    queue of statements the database could only refuse (all past their deadlines)."""
    conn = engine.connect()
    try:
        async with asyncio.timeout(max(deadline - time.time(), 0.0)):
            await conn.start()
    except TimeoutError:
        raise CannotEvaluate("no pooled connection before the deadline") from None
    try:
        yield conn
    finally:
        # As AsyncConnection's own exit does: the connection goes back even if this is cancelled.
        await asyncio.shield(conn.close())


async def _undo_late_hold(engine: AsyncEngine, late: Reserved) -> None:
    """Releases a hold whose reserve committed in time but whose answer arrived after the caller was
    told "nothing held" (a server too loaded to read it in time): that answer must stay true."""
    if late.reservation is None or late.replayed:
        return
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(
            text(
                "UPDATE chat_spend_reservations SET state = 'released', ended_at = now() WHERE id = :id AND state = 'held'"
            ),
            {"id": late.reservation.id},
        )
    log.warning(
        "reservation %s committed after its reserve had answered without a hold: released",
        late.reservation.id,
    )


class _Columns:
    """Columns of the reserve's or settle's row that share a prefix, read by their unprefixed names
    (``status_*`` as a ``spendlimits_statuses`` row, ``reservation_*`` as a reservation)."""

    def __init__(self, row: Row, prefix: str) -> None:
        self._row, self._prefix = row, prefix

    def __getitem__(self, key: str, /) -> Any:
        return self._row[self._prefix + key]


def _message_field(error: DomainError) -> DomainError:
    """A recordChatMessage error re-pointed at settle's ``input.message``."""
    field = error.field
    if field and field[0] == "input":
        field = ["input", "message", *field[1:]]
    return DomainError(error.code, error.message, field)


_SETTLE = HotStatement(
    text(
        """
        SELECT * FROM spendlimits_settle(
            CAST(:reservation_id AS uuid), CAST(:chat_id AS uuid), CAST(:role AS text), CAST(:model_id AS uuid),
            CAST(:input_tokens AS bigint), CAST(:output_tokens AS bigint), CAST(:cache_read_tokens AS bigint),
            CAST(:cache_write_tokens AS bigint), CAST(:total AS bigint), CAST(:created_at AS timestamptz),
            CAST(:key AS text), CAST(:digest AS bytea), CAST(:now AS timestamptz))
        """
    )
)


def _chat_elsewhere(whose: str) -> DomainError:
    return DomainError(
        "INVALID_INPUT",
        f"The message's chat must belong to the reservation's {whose}.",
        ["input", "message", "chatId"],
    )


# The function's refusals, as the errors settle has always given (recordChatMessage's own errors
# re-pointed at input.message).
_SETTLE_ERRORS: dict[str, Callable[[], DomainError]] = {
    "reservation_not_found": _not_found,
    "not_held": _not_held,
    "chat_not_found": lambda: _message_field(ingest.chat_not_found()),
    "chat_of_other_user": lambda: _chat_elsewhere("user"),
    "chat_in_other_organization": lambda: _chat_elsewhere("organization"),
    "cost_too_large": lambda: _message_field(cost_too_large()),
    "model_not_found": lambda: _message_field(ingest.model_not_found()),
    "message_key_conflict": lambda: _message_field(ingest.key_conflict()),
    "settled_with_other_message": lambda: DomainError(
        "IDEMPOTENCY_CONFLICT",
        "This reservation was already settled with a different message.",
        ["input", "message"],
    ),
    "message_settled_other": lambda: DomainError(
        "IDEMPOTENCY_CONFLICT",
        "That message already settled another reservation.",
        ["input", "message", "idempotencyKey"],
    ),
}


async def settle(
    conn: AsyncConnection, reservation_id: uuid.UUID, message: NewMessage, *, now: datetime | None = None
) -> Settled:
    """Records the call's message (recordChatMessage's rules) and ends the hold, exactly once.

    ONE call of ``spendlimits_settle`` (migration 000009): on an autocommit connection it is one
    round trip on the driver path and atomic by itself; in a caller's transaction it runs in it.
    Settling again returns the same message with ``replayed``; a different message for a settled
    reservation is IDEMPOTENCY_CONFLICT. An EXPIRED reservation still records the cost, and no limit
    is checked: the money is already spent. A RELEASED one is RESERVATION_NOT_HELD: releasing said
    the call never ran. Input checks that need no database come first (INVALID_INPUT); a refusal
    writes nothing.
    """
    at = now or datetime.now(UTC)
    try:
        ingest.check_message(message, at)
    except DomainError as error:
        raise _message_field(error) from None
    # Without a key of its own the message is keyed by the reservation, so a retried settle that
    # lost its answer finds the first message instead of recording a second one.
    key = message.idempotency_key if message.idempotency_key is not None else f"reservation:{reservation_id}"
    params = {
        "reservation_id": reservation_id,
        "chat_id": message.chat_id,
        "role": message.role.value,
        "model_id": message.model_id,
        **ingest.usage_params(message.usage),
        "total": message.total_cost_micros,
        "created_at": message.created_at,
        "key": key,
        "digest": message.digest(),
        "now": at,
    }
    # A failed call wrote nothing (autocommit); sending it again is a retried settle, which the key
    # makes idempotent, so the driver path may resend it through SQLAlchemy to report the failure.
    [row] = await _SETTLE.fetch(conn, params)
    outcome = row["outcome"]
    if outcome in _SETTLE_ERRORS:
        raise _SETTLE_ERRORS[outcome]()
    return Settled(
        reservation=_reservation(_Columns(row, "reservation_")),
        message=ChatMessage(**{name: row["message_" + name] for name in _MESSAGE_FIELDS}),
        replayed=outcome == "replayed",
    )


# One statement: the release, and whether the reservation exists at all (to tell NOT_FOUND from
# NOT_HELD without a second round trip).
_RELEASE = text(
    f"""
    WITH released AS (
        UPDATE chat_spend_reservations SET state = 'released', ended_at = CAST(:now AS timestamptz)
        WHERE id = :id AND state = 'held' AND expires_at > CAST(:now AS timestamptz)
        RETURNING {_COLUMNS}
    )
    SELECT released.*, EXISTS (SELECT 1 FROM chat_spend_reservations WHERE id = :id) AS known
    FROM (SELECT 1) AS one LEFT JOIN released ON true
    """
)


async def release(
    conn: AsyncConnection, reservation_id: uuid.UUID, *, now: datetime | None = None
) -> Reservation:
    """HELD (and unexpired) -> RELEASED in one statement; anything else is RESERVATION_NOT_HELD."""
    at = now or datetime.now(UTC)
    row = (await conn.execute(_RELEASE, {"id": reservation_id, "now": at})).one()._mapping
    if row["id"] is not None:
        return _reservation(row)
    raise _not_held() if row["known"] else _not_found()


async def get_reservations(conn: AsyncConnection, ids: list[uuid.UUID]) -> dict[uuid.UUID, Reservation]:
    rows = await conn.execute(
        text(f"SELECT {_COLUMNS} FROM chat_spend_reservations WHERE id = ANY(:ids)"), {"ids": ids}
    )
    return {r.id: r for r in (_reservation(row._mapping) for row in rows)}
