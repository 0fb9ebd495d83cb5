"""Recording messages and their cost, each exactly once.

A message with an idempotency key is recorded at most once per chat: the database's
UNIQUE (chat_id, idempotency_key) decides between concurrent retries (INSERT ... ON CONFLICT DO
NOTHING, then a read of the row that won). A retry is told apart from a different request that
reuses the key by a digest of the input, stored with the first message.

A batch of any size costs the same two statements: one reads the batch's chats and models and
prices every message with ``spendlimits_message_cost`` (migration 000009, the cost rule's one home),
one inserts every accepted message and, in the same statement, reads the messages that already held
one of the batch's keys. The spend rollup's statement trigger runs once per batch. A third
statement runs only when a key was taken by a transaction that committed while the insert waited
on it (a concurrent retry), which the insert's snapshot cannot see.

On an autocommit connection both statements take the driver path (``db/driver.py``): the
single-message mutation costs two round trips after the token's, and the insert is atomic by
itself. In a caller's transaction (the importer) they run in it. A reservation's settle records its
message in its own one call (``spendlimits_settle``) with the same rules: the checks below that need
no database (``check_message``), the same pricing function, the same key and digest.
"""

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from spendlimits.db.driver import HotStatement, Row
from spendlimits.directory.cost import TokenUsage, check_amounts, cost_too_large
from spendlimits.directory.messages import COLUMNS, ChatMessage, MessageRole
from spendlimits.directory.rows import from_row
from spendlimits.errors import DomainError

MAX_IDEMPOTENCY_KEY_LENGTH = 255
#: How far ahead of the server clock a createdAt may be: clocks drift, but a message dated next
#: month would count in a period no check of this one sees (spec: never more than 5 minutes).
MAX_CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class NewMessage:
    chat_id: uuid.UUID
    role: MessageRole
    model_id: uuid.UUID | None = None
    usage: TokenUsage | None = None
    #: When given, this is the cost and usage is not priced.
    total_cost_micros: int | None = None
    #: None means now. May be in the past (imports, late events); decides the period it counts in.
    created_at: datetime | None = None
    idempotency_key: str | None = None

    def digest(self) -> bytes:
        """What makes two requests "the same input": every field but the key, written canonically.

        The cost is not part of it: a retry after a price change is still the same request.
        """
        usage = self.usage
        canonical = {
            "chat_id": str(self.chat_id),
            "role": self.role.value,
            "model_id": str(self.model_id) if self.model_id else None,
            "usage": None
            if usage is None
            else [usage.input_tokens, usage.output_tokens, usage.cache_read_tokens, usage.cache_write_tokens],
            "total_cost_micros": self.total_cost_micros,
            "created_at": self.created_at.astimezone(UTC).isoformat() if self.created_at else None,
        }
        return hashlib.sha256(json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()).digest()


@dataclass(frozen=True, slots=True)
class Recorded:
    message: ChatMessage
    #: True when an earlier message with the same idempotency key was returned instead.
    replayed: bool


def check_created_at(created_at: datetime | None, now: datetime) -> None:
    """createdAt needs a time zone and may not be ahead of ``now`` by more than MAX_CLOCK_SKEW."""
    if created_at is None:
        return
    if created_at.tzinfo is None:
        raise DomainError("INVALID_INPUT", "createdAt needs a time zone.", ["input", "createdAt"])
    if created_at > now + MAX_CLOCK_SKEW:
        raise DomainError(
            "INVALID_INPUT",
            "createdAt may not be more than 5 minutes ahead of the server clock.",
            ["input", "createdAt"],
        )


def check_message(message: NewMessage, now: datetime) -> None:
    """Every check that needs no database, in the order callers have always seen; raises DomainError."""
    key = message.idempotency_key
    if key is not None and not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH:
        raise DomainError(
            "INVALID_INPUT",
            f"idempotencyKey must be 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} characters.",
            ["input", "idempotencyKey"],
        )
    check_created_at(message.created_at, now)
    check_amounts(total_cost_micros=message.total_cost_micros, usage=message.usage)


def chat_not_found() -> DomainError:
    return DomainError("CHAT_NOT_FOUND", "Chat not found.", ["input", "chatId"])


def model_not_found() -> DomainError:
    return DomainError("MODEL_NOT_FOUND", "Chat model not found.", ["input", "modelId"])


def key_conflict() -> DomainError:
    return DomainError(
        "IDEMPOTENCY_CONFLICT",
        "This idempotencyKey was already used for a different message in this chat.",
        ["input", "idempotencyKey"],
    )


def usage_params(usage: TokenUsage | None) -> dict[str, int | None]:
    """Token counts as the pricing function takes them: all four NULL means "no usage" (unpriced)."""
    return {
        "input_tokens": usage.input_tokens if usage else None,
        "output_tokens": usage.output_tokens if usage else None,
        "cache_read_tokens": usage.cache_read_tokens if usage else None,
        "cache_write_tokens": usage.cache_write_tokens if usage else None,
    }


_MESSAGE_FIELDS = tuple(f.name for f in fields(ChatMessage))


def _message(row: Row) -> ChatMessage:
    return ChatMessage(**{name: row[name] for name in _MESSAGE_FIELDS})


# Each message's chat and model looked up and its cost computed, in one statement; row n answers
# the n-th message sent (1-based).
_LOOKUP = HotStatement(
    text(
        """
        SELECT t.n, c.id IS NOT NULL AS chat_found, (t.model_id IS NULL OR m.id IS NOT NULL) AS model_found,
               p.cost_micros, p.too_large
        FROM unnest(CAST(:chat_ids AS uuid[]), CAST(:model_ids AS uuid[]), CAST(:totals AS bigint[]),
                    CAST(:input_tokens AS bigint[]), CAST(:output_tokens AS bigint[]),
                    CAST(:cache_read_tokens AS bigint[]), CAST(:cache_write_tokens AS bigint[]))
             WITH ORDINALITY AS t(chat_id, model_id, total, input_tokens, output_tokens, cache_read_tokens,
                                  cache_write_tokens, n)
        LEFT JOIN chats c ON c.id = t.chat_id
        LEFT JOIN chat_models m ON m.id = t.model_id
        CROSS JOIN LATERAL spendlimits_message_cost(
            t.total, t.input_tokens, t.output_tokens, t.cache_read_tokens, t.cache_write_tokens,
            m.input_price_micros, m.output_price_micros, m.cache_read_price_micros, m.cache_write_price_micros) p
        """
    )
)

# The main query reads the snapshot taken before the insert: the "existing" rows are the messages
# that held a key of the batch before it, never the rows this statement inserts.
_INSERT = HotStatement(
    text(
        f"""
        WITH t AS (
            SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:chat_ids AS uuid[]), CAST(:roles AS text[]),
                CAST(:model_ids AS uuid[]), CAST(:input_tokens AS bigint[]), CAST(:output_tokens AS bigint[]),
                CAST(:cache_read_tokens AS bigint[]), CAST(:cache_write_tokens AS bigint[]),
                CAST(:costs AS bigint[]), CAST(:created_at AS timestamptz[]), CAST(:keys AS text[]),
                CAST(:digests AS bytea[])) WITH ORDINALITY
            AS t(id, chat_id, role, model_id, input_tokens, output_tokens, cache_read_tokens,
                 cache_write_tokens, total_cost_micros, created_at, idempotency_key, request_digest, n)
        ), inserted AS (
            INSERT INTO chat_messages (id, chat_id, role, model_id, input_tokens, output_tokens,
                cache_read_tokens, cache_write_tokens, total_cost_micros, created_at, idempotency_key,
                request_digest, owner_id, organization_id)
            SELECT t.id, t.chat_id, t.role, t.model_id, t.input_tokens, t.output_tokens,
                   t.cache_read_tokens, t.cache_write_tokens, t.total_cost_micros,
                   coalesce(t.created_at, now()), t.idempotency_key, t.request_digest,
                   -- The chat's attribution, passed so that no row trigger has to look it up
                   -- (migration 000014); a chat gone since the lookup fails on the foreign key.
                   c.owner_id, c.organization_id
            FROM t LEFT JOIN chats c ON c.id = t.chat_id
            -- One order for every writer keeps concurrent batches with shared keys from deadlocking.
            ORDER BY t.chat_id, t.idempotency_key, t.n
            ON CONFLICT (chat_id, idempotency_key) DO NOTHING
            RETURNING {COLUMNS}
        )
        SELECT true AS inserted, {COLUMNS}, NULL::bytea AS request_digest FROM inserted
        UNION ALL
        SELECT false, {COLUMNS}, request_digest FROM chat_messages
        WHERE (chat_id, idempotency_key) IN (
            SELECT chat_id, idempotency_key FROM t WHERE idempotency_key IS NOT NULL
        )
        """
    )
)

_TAKEN_KEYS = HotStatement(
    text(
        f"""
        SELECT {COLUMNS}, request_digest FROM chat_messages
        WHERE (chat_id, idempotency_key) IN (
            SELECT * FROM unnest(CAST(:chat_ids AS uuid[]), CAST(:keys AS text[]))
        )
        """
    )
)

Key = tuple[uuid.UUID, str | None]


@dataclass(slots=True)
class _Accepted:
    index: int
    message: NewMessage
    id: uuid.UUID
    cost: int | None
    digest: bytes | None


async def _priced(conn: AsyncConnection, messages: Sequence[NewMessage]) -> list[int | DomainError | None]:
    """Each message's cost (None: unpriced), or why it cannot be recorded, in the order of
    recordChatMessage's checks: the cost, the chat, the model."""
    usages = [usage_params(m.usage) for m in messages]
    rows = await _LOOKUP.fetch(
        conn,
        {
            "chat_ids": [m.chat_id for m in messages],
            "model_ids": [m.model_id for m in messages],
            "totals": [m.total_cost_micros for m in messages],
            **{name: [u[name] for u in usages] for name in usages[0]},
        },
    )
    outcomes: list[int | DomainError | None] = [None] * len(messages)
    for row in rows:
        index = row["n"] - 1
        if row["too_large"]:
            outcomes[index] = cost_too_large()
        elif not row["chat_found"]:
            outcomes[index] = chat_not_found()
        elif not row["model_found"]:
            outcomes[index] = model_not_found()
        else:
            outcomes[index] = row["cost_micros"]
    return outcomes


def _insert_params(accepted: list[_Accepted]) -> dict[str, Any]:
    usages = [a.message.usage or TokenUsage() for a in accepted]
    return {
        "ids": [a.id for a in accepted],
        "chat_ids": [a.message.chat_id for a in accepted],
        "roles": [a.message.role.value for a in accepted],
        "model_ids": [a.message.model_id for a in accepted],
        "input_tokens": [u.input_tokens for u in usages],
        "output_tokens": [u.output_tokens for u in usages],
        "cache_read_tokens": [u.cache_read_tokens for u in usages],
        "cache_write_tokens": [u.cache_write_tokens for u in usages],
        "costs": [a.cost for a in accepted],
        "created_at": [a.message.created_at for a in accepted],
        "keys": [a.message.idempotency_key for a in accepted],
        "digests": [a.digest for a in accepted],
    }


def _replay_or_conflict(
    first: ChatMessage, first_digest: bytes | None, digest: bytes | None
) -> Recorded | DomainError:
    """A keyed message whose key was taken: the first message when the inputs match, else a conflict."""
    if first_digest is not None and first_digest == digest:
        return Recorded(message=first, replayed=True)
    return key_conflict()


async def record_messages(
    conn: AsyncConnection, messages: Sequence[NewMessage], *, now: datetime | None = None
) -> list[Recorded | DomainError]:
    """Records a batch; one outcome per message, in order: the message, or why it was refused.

    A refused message writes nothing; the others are recorded all the same. ``now`` is the server
    clock a createdAt is held to (default: the current time).
    """
    if not messages:
        return []
    now = now or datetime.now(UTC)
    outcomes: list[Recorded | DomainError | None] = [None] * len(messages)
    checked: list[int] = []
    for index, message in enumerate(messages):
        try:
            check_message(message, now)
        except DomainError as error:
            outcomes[index] = error
        else:
            checked.append(index)
    if not checked:
        return [o for o in outcomes if o is not None]
    priced = await _priced(conn, [messages[i] for i in checked])

    # Ids are chosen here so every inserted row maps back to its input, keyed or not. Of several
    # messages with one key in a batch, the first is sent; the others are answered from its outcome.
    accepted: list[_Accepted] = []
    repeats: list[_Accepted] = []
    first_of_key: set[Key] = set()
    for index, cost in zip(checked, priced, strict=True):
        message = messages[index]
        if isinstance(cost, DomainError):
            outcomes[index] = cost
            continue
        key = message.idempotency_key
        item = _Accepted(index, message, uuid.uuid4(), cost, message.digest() if key is not None else None)
        if key is not None and (message.chat_id, key) in first_of_key:
            repeats.append(item)
            continue
        if key is not None:
            first_of_key.add((message.chat_id, key))
        accepted.append(item)
    if not accepted:
        return [o for o in outcomes if o is not None]

    inserted: dict[uuid.UUID, ChatMessage] = {}
    stored: dict[Key, tuple[ChatMessage, bytes | None]] = {}
    for row in await _INSERT.fetch(conn, _insert_params(accepted)):
        found = _message(row)
        if row["inserted"]:
            inserted[found.id] = found
        else:
            digest = row["request_digest"]
            stored[(found.chat_id, found.idempotency_key)] = (
                found,
                None if digest is None else bytes(digest),
            )
    unseen: list[_Accepted] = []
    for item in accepted:
        if item.id in inserted:
            outcomes[item.index] = Recorded(message=inserted[item.id], replayed=False)
            key = item.message.idempotency_key
            if key is not None:
                stored[(item.message.chat_id, key)] = (inserted[item.id], item.digest)
            continue
        key_of = (item.message.chat_id, item.message.idempotency_key)
        if key_of in stored:
            first, first_digest = stored[key_of]
            outcomes[item.index] = _replay_or_conflict(first, first_digest, item.digest)
        else:
            unseen.append(item)
    if unseen:
        # Keys taken by transactions that committed while the insert waited on them: visible now
        # (READ COMMITTED takes a new snapshot per statement).
        rows = await _TAKEN_KEYS.fetch(
            conn,
            {
                "chat_ids": [i.message.chat_id for i in unseen],
                "keys": [i.message.idempotency_key for i in unseen],
            },
        )
        for row in rows:
            digest = row["request_digest"]
            stored[(row["chat_id"], row["idempotency_key"])] = (
                _message(row),
                None if digest is None else bytes(digest),
            )
        for item in unseen:
            first, first_digest = stored[(item.message.chat_id, item.message.idempotency_key)]
            outcomes[item.index] = _replay_or_conflict(first, first_digest, item.digest)
    for item in repeats:
        # Answered like a retry of the first message with its key, whatever became of that one.
        first, first_digest = stored[(item.message.chat_id, item.message.idempotency_key)]
        outcomes[item.index] = _replay_or_conflict(first, first_digest, item.digest)
    return [o for o in outcomes if o is not None]


async def record_message(conn: AsyncConnection, message: NewMessage) -> Recorded:
    """Records one message (or returns the first one with its idempotency key); raises DomainError."""
    [outcome] = await record_messages(conn, [message])
    if isinstance(outcome, DomainError):
        raise outcome
    return outcome


async def delete_message(conn: AsyncConnection, message_id: uuid.UUID) -> ChatMessage:
    """Soft delete: the message's cost still counts toward spend. Deleting twice is harmless."""
    row = (
        await conn.execute(
            text(
                f"""
                WITH deleted AS (
                    UPDATE chat_messages SET deleted = true WHERE id = :id AND NOT deleted RETURNING {COLUMNS}
                )
                SELECT {COLUMNS} FROM deleted
                UNION ALL
                SELECT {COLUMNS} FROM chat_messages WHERE id = :id AND deleted
                """
            ),
            {"id": message_id},
        )
    ).first()
    if row is None:
        # The contract has no code of its own for messages; a message lives in a chat.
        raise DomainError("CHAT_NOT_FOUND", "Chat message not found.", ["input", "messageId"])
    return from_row(ChatMessage, row)
