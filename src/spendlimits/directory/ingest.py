"""Recording messages and their cost, each exactly once.

A message with an idempotency key is recorded at most once per chat: the database's
UNIQUE (chat_id, idempotency_key) decides between concurrent retries (INSERT ... ON CONFLICT DO
NOTHING, then a read of the row that won). A retry is told apart from a different request that
reuses the key by a digest of the input, stored with the first message.

One function records a whole batch in one INSERT, so the spend rollup's statement trigger runs
once per batch; the GraphQL mutation records a batch of one.
"""

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from spendlimits.directory.cost import TokenUsage, message_cost
from spendlimits.directory.messages import COLUMNS, ChatMessage, MessageRole
from spendlimits.directory.models import ChatModel, get_models
from spendlimits.directory.rows import from_row
from spendlimits.errors import DomainError

MAX_IDEMPOTENCY_KEY_LENGTH = 255


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


def _cost(message: NewMessage, chat_found: bool, models: dict[uuid.UUID, ChatModel]) -> int | None:
    """The message's cost after every check that needs no write; raises DomainError."""
    key = message.idempotency_key
    if key is not None and not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH:
        raise DomainError(
            "INVALID_INPUT",
            f"idempotencyKey must be 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} characters.",
            ["input", "idempotencyKey"],
        )
    if message.created_at is not None and message.created_at.tzinfo is None:
        raise DomainError("INVALID_INPUT", "createdAt needs a time zone.", ["input", "createdAt"])
    model = models.get(message.model_id) if message.model_id else None
    cost = message_cost(total_cost_micros=message.total_cost_micros, usage=message.usage, model=model)
    if not chat_found:
        raise DomainError("CHAT_NOT_FOUND", "Chat not found.", ["input", "chatId"])
    if message.model_id is not None and model is None:
        raise DomainError("MODEL_NOT_FOUND", "Chat model not found.", ["input", "modelId"])
    return cost


_INSERT = text(
    f"""
    INSERT INTO chat_messages (id, chat_id, role, model_id, input_tokens, output_tokens,
        cache_read_tokens, cache_write_tokens, total_cost_micros, created_at, idempotency_key,
        request_digest)
    SELECT t.id, t.chat_id, t.role, t.model_id, t.input_tokens, t.output_tokens, t.cache_read_tokens,
           t.cache_write_tokens, t.total_cost_micros, coalesce(t.created_at, now()), t.idempotency_key,
           t.request_digest
    FROM unnest(CAST(:ids AS uuid[]), CAST(:chat_ids AS uuid[]), CAST(:roles AS text[]),
                CAST(:model_ids AS uuid[]), CAST(:input_tokens AS bigint[]), CAST(:output_tokens AS bigint[]),
                CAST(:cache_read_tokens AS bigint[]), CAST(:cache_write_tokens AS bigint[]),
                CAST(:costs AS bigint[]), CAST(:created_at AS timestamptz[]), CAST(:keys AS text[]),
                CAST(:digests AS bytea[])) WITH ORDINALITY
         AS t(id, chat_id, role, model_id, input_tokens, output_tokens, cache_read_tokens,
              cache_write_tokens, total_cost_micros, created_at, idempotency_key, request_digest, n)
    -- One order for every writer keeps concurrent batches with shared keys from deadlocking; within
    -- a batch, the first of two messages with one key is the one recorded.
    ORDER BY t.chat_id, t.idempotency_key, t.n
    ON CONFLICT (chat_id, idempotency_key) DO NOTHING
    RETURNING {COLUMNS}
    """
)


async def record_messages(
    conn: AsyncConnection, messages: Sequence[NewMessage]
) -> list[Recorded | DomainError]:
    """Records a batch; one outcome per message, in order: the message, or why it was refused.

    A refused message writes nothing; the others are recorded all the same.
    """
    outcomes: list[Recorded | DomainError | None] = [None] * len(messages)
    chat_ids = list({m.chat_id for m in messages})
    found_chats = set(
        (await conn.execute(text("SELECT id FROM chats WHERE id = ANY(:ids)"), {"ids": chat_ids})).scalars()
    )
    model_ids = list({m.model_id for m in messages if m.model_id is not None})
    models = await get_models(conn, model_ids) if model_ids else {}

    # Ids are chosen here so every inserted row maps back to its input, keyed or not.
    accepted: list[tuple[int, uuid.UUID, int | None, bytes | None]] = []
    for index, message in enumerate(messages):
        try:
            cost = _cost(message, message.chat_id in found_chats, models)
        except DomainError as error:
            outcomes[index] = error
            continue
        digest = message.digest() if message.idempotency_key is not None else None
        accepted.append((index, uuid.uuid4(), cost, digest))

    if accepted:
        picked = [messages[index] for index, *_ in accepted]
        usages = [m.usage or TokenUsage() for m in picked]
        rows = await conn.execute(
            _INSERT,
            {
                "ids": [message_id for _, message_id, _, _ in accepted],
                "chat_ids": [m.chat_id for m in picked],
                "roles": [m.role.value for m in picked],
                "model_ids": [m.model_id for m in picked],
                "input_tokens": [u.input_tokens for u in usages],
                "output_tokens": [u.output_tokens for u in usages],
                "cache_read_tokens": [u.cache_read_tokens for u in usages],
                "cache_write_tokens": [u.cache_write_tokens for u in usages],
                "costs": [cost for _, _, cost, _ in accepted],
                "created_at": [m.created_at for m in picked],
                "keys": [m.idempotency_key for m in picked],
                "digests": [digest for _, _, _, digest in accepted],
            },
        )
        inserted = {m.id: m for m in (from_row(ChatMessage, r) for r in rows)}
        replays = []
        for index, message_id, _, digest in accepted:
            if message_id in inserted:
                outcomes[index] = Recorded(message=inserted[message_id], replayed=False)
            else:
                replays.append((index, digest))
        if replays:
            await _replay(conn, messages, replays, outcomes)
    return [o for o in outcomes if o is not None]


async def _replay(
    conn: AsyncConnection,
    messages: Sequence[NewMessage],
    replays: list[tuple[int, bytes | None]],
    outcomes: list[Recorded | DomainError | None],
) -> None:
    """Outcomes for keyed messages whose key was already taken: the first message, or a conflict.

    A statement of its own: in READ COMMITTED it sees rows that concurrent transactions committed
    while the INSERT waited on them.
    """
    keys = [(messages[index].chat_id, messages[index].idempotency_key) for index, _ in replays]
    rows = await conn.execute(
        text(
            f"""
            SELECT {COLUMNS}, request_digest FROM chat_messages
            WHERE (chat_id, idempotency_key) IN (
                SELECT * FROM unnest(CAST(:chat_ids AS uuid[]), CAST(:keys AS text[]))
            )
            """
        ),
        {"chat_ids": [k[0] for k in keys], "keys": [k[1] for k in keys]},
    )
    stored = {(r.chat_id, r.idempotency_key): (from_row(ChatMessage, r), r.request_digest) for r in rows}
    for (index, digest), key in zip(replays, keys, strict=True):
        first, first_digest = stored[key]
        if first_digest is not None and bytes(first_digest) == digest:
            outcomes[index] = Recorded(message=first, replayed=True)
        else:
            outcomes[index] = DomainError(
                "IDEMPOTENCY_CONFLICT",
                "This idempotencyKey was already used for a different message in this chat.",
                ["input", "idempotencyKey"],
            )


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
