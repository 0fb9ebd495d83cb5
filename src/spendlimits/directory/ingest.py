"""Recording messages and their cost, each exactly once.

A message with an idempotency key is recorded at most once per chat: the database's
UNIQUE (chat_id, idempotency_key) decides between concurrent retries (INSERT ... ON CONFLICT DO
NOTHING, then a read of the row that won). A retry is told apart from a different request that
reuses the key by a digest of the input, stored with the first message.

A batch of any size costs the same two statements: one reads the batch's chats and models, one
inserts every accepted message and, in the same statement, reads the messages that already held
one of the batch's keys. The spend rollup's statement trigger runs once per batch. A third
statement runs only when a key was taken by a transaction that committed while the insert waited
on it (a concurrent retry), which the insert's snapshot cannot see.

On an autocommit connection both statements take the driver path (``db/driver.py``): the
single-message mutation costs two round trips after the token's, and the insert is atomic by
itself. In a caller's transaction (a reservation's settle, the importer) they run in it.
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
from spendlimits.directory.cost import TokenUsage, message_cost
from spendlimits.directory.messages import COLUMNS, ChatMessage, MessageRole
from spendlimits.directory.models import COLUMNS as MODEL_COLUMNS
from spendlimits.directory.models import ChatModel
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


def _cost(
    message: NewMessage, chat_found: bool, models: dict[uuid.UUID, ChatModel], now: datetime
) -> int | None:
    """The message's cost after every check that needs no write; raises DomainError."""
    key = message.idempotency_key
    if key is not None and not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH:
        raise DomainError(
            "INVALID_INPUT",
            f"idempotencyKey must be 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} characters.",
            ["input", "idempotencyKey"],
        )
    check_created_at(message.created_at, now)
    model = models.get(message.model_id) if message.model_id else None
    cost = message_cost(total_cost_micros=message.total_cost_micros, usage=message.usage, model=model)
    if not chat_found:
        raise DomainError("CHAT_NOT_FOUND", "Chat not found.", ["input", "chatId"])
    if message.model_id is not None and model is None:
        raise DomainError("MODEL_NOT_FOUND", "Chat model not found.", ["input", "modelId"])
    return cost


_MESSAGE_FIELDS = tuple(f.name for f in fields(ChatMessage))
_MODEL_FIELDS = tuple(f.name for f in fields(ChatModel))


def _message(row: Row) -> ChatMessage:
    return ChatMessage(**{name: row[name] for name in _MESSAGE_FIELDS})


# The batch's chats and models in one statement: chat rows carry only their id (kind = 'chat').
_LOOKUP = HotStatement(
    text(
        f"""
        SELECT 'model' AS kind, {MODEL_COLUMNS} FROM chat_models WHERE id = ANY(CAST(:model_ids AS uuid[]))
        UNION ALL
        SELECT 'chat', id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
        FROM chats WHERE id = ANY(CAST(:chat_ids AS uuid[]))
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
                request_digest)
            SELECT id, chat_id, role, model_id, input_tokens, output_tokens, cache_read_tokens,
                   cache_write_tokens, total_cost_micros, coalesce(created_at, now()), idempotency_key,
                   request_digest
            FROM t
            -- One order for every writer keeps concurrent batches with shared keys from deadlocking.
            ORDER BY chat_id, idempotency_key, n
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


async def _lookup(
    conn: AsyncConnection, messages: Sequence[NewMessage]
) -> tuple[set[uuid.UUID], dict[uuid.UUID, ChatModel]]:
    rows = await _LOOKUP.fetch(
        conn,
        {
            "chat_ids": list({m.chat_id for m in messages}),
            "model_ids": list({m.model_id for m in messages if m.model_id is not None}),
        },
    )
    chats = {row["id"] for row in rows if row["kind"] == "chat"}
    models = {
        row["id"]: ChatModel(**{name: row[name] for name in _MODEL_FIELDS})
        for row in rows
        if row["kind"] == "model"
    }
    return chats, models


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
    return DomainError(
        "IDEMPOTENCY_CONFLICT",
        "This idempotencyKey was already used for a different message in this chat.",
        ["input", "idempotencyKey"],
    )


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
    chats, models = await _lookup(conn, messages)

    # Ids are chosen here so every inserted row maps back to its input, keyed or not. Of several
    # messages with one key in a batch, the first is sent; the others are answered from its outcome.
    accepted: list[_Accepted] = []
    repeats: list[_Accepted] = []
    first_of_key: set[Key] = set()
    for index, message in enumerate(messages):
        try:
            cost = _cost(message, message.chat_id in chats, models, now)
        except DomainError as error:
            outcomes[index] = error
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
        # (READ COMMITTED takes a new snapshot per statement; inside a settle's REPEATABLE READ
        # the insert would have raised a serialization failure instead).
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
