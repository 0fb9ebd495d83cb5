"""Recording messages and their cost: the chat daemon (CHATD) or an OWNER."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Annotated, Any

import strawberry
from strawberry.types.base import get_object_definition

from spendlimits.directory import ingest
from spendlimits.directory.cost import TokenUsage
from spendlimits.directory.messages import MessageRole
from spendlimits.errors import DomainError
from spendlimits.graphql.context import Info
from spendlimits.graphql.errors import BadUserInput, UserError, UserErrorCode, parse_id
from spendlimits.graphql.mutations.transaction import in_transaction
from spendlimits.graphql.permissions import require_usage_writer
from spendlimits.graphql.scalars import Micros
from spendlimits.graphql.types.chat_message import ChatMessage

ERRORS = "Why nothing was done; empty on success."


@strawberry.input(description="Tokens an LLM call used; each 0 or more. Null or omitted counts 0.")
class TokenUsageInput:
    input_tokens: int | None = strawberry.field(default=0, description="Prompt tokens, cache excluded.")
    output_tokens: int | None = strawberry.field(default=0, description="Generated tokens.")
    cache_read_tokens: int | None = strawberry.field(
        default=0, description="Prompt tokens read from the cache."
    )
    cache_write_tokens: int | None = strawberry.field(
        default=0, description="Prompt tokens written to the cache."
    )

    def to_domain(self) -> TokenUsage:
        return TokenUsage(
            input_tokens=self.input_tokens or 0,
            output_tokens=self.output_tokens or 0,
            cache_read_tokens=self.cache_read_tokens or 0,
            cache_write_tokens=self.cache_write_tokens or 0,
        )


@strawberry.input(description="One message of a chat and what it cost (or the usage to price it from).")
class RecordChatMessageInput:
    chat_id: strawberry.ID = strawberry.field(description="The chat; its owner is charged.")
    role: MessageRole = strawberry.field(description="Who wrote the message.")
    model_id: strawberry.ID | None = strawberry.field(default=None, description="Id of a ChatModel.")
    usage: TokenUsageInput | None = strawberry.field(
        default=None,
        description="Tokens used; priced with the model's current prices when totalCostMicros is omitted.",
    )
    total_cost_micros: Micros | None = strawberry.field(
        default=None, description="When given, this is the cost and usage is not priced. Must be >= 0."
    )
    created_at: datetime | None = strawberry.field(
        default=None,
        description="Default: now. Decides which period the cost falls in; may be in the past (imports, late events).",
    )
    idempotency_key: str | None = strawberry.field(
        default=None,
        description=(
            "1 to 255 characters, unique per chat. A retry with the same key and input returns the "
            "first message (replayed: true) and counts nothing twice; the same key with other input "
            "is IDEMPOTENCY_CONFLICT."
        ),
    )

    def to_domain(self) -> ingest.NewMessage:
        """The message to record; ids that are not UUIDs are BAD_USER_INPUT."""
        return ingest.NewMessage(
            chat_id=parse_id(self.chat_id, "chatId"),
            role=self.role,
            model_id=parse_id(self.model_id, "modelId") if self.model_id is not None else None,
            usage=self.usage.to_domain() if self.usage is not None else None,
            total_cost_micros=self.total_cost_micros,
            created_at=self.created_at,
            idempotency_key=self.idempotency_key,
        )


@strawberry.type(description="The result of recordChatMessage.")
class RecordChatMessagePayload:
    message: ChatMessage | None = strawberry.field(
        description="The recorded message, or the first one with the same idempotencyKey; null on error."
    )
    replayed: bool = strawberry.field(
        description="True when an earlier message with the same idempotencyKey was returned."
    )
    errors: list[UserError] = strawberry.field(description=ERRORS)


#: Messages per recordChatMessages request (the contract's bound).
MAX_BATCH = 1000


@strawberry.input(description="A batch of messages from the chat daemon, recorded in one request.")
class RecordChatMessagesInput:
    messages: list[RecordChatMessageInput] = strawberry.field(
        description="1 to 1000 messages, each as recordChatMessage takes it."
    )


@strawberry.type(description="The outcome of one message of a batch, in input order.")
class RecordChatMessageResult:
    message: ChatMessage | None = strawberry.field(
        description="The recorded message, or the first one with the same idempotencyKey; null on error."
    )
    replayed: bool = strawberry.field(
        description="True when an earlier message with the same idempotencyKey was returned."
    )
    errors: list[UserError] = strawberry.field(
        description="Why this message was not recorded; the others are unaffected."
    )


@strawberry.type(description="The result of recordChatMessages.")
class RecordChatMessagesPayload:
    results: list[RecordChatMessageResult] = strawberry.field(
        description="One result per message, in input order."
    )
    errors: list[UserError] = strawberry.field(
        description="Errors about the batch as a whole (empty or too large); then nothing was recorded."
    )


@dataclass(frozen=True, slots=True)
class PreparedBatch:
    """A batch's messages as domain values, or why each could not be read (by input index)."""

    messages: list[ingest.NewMessage | DomainError]

    @classmethod
    def of(cls, inputs: list[RecordChatMessageInput]) -> "PreparedBatch":
        return cls([_prepared(item.to_domain) for item in inputs])

    @classmethod
    def from_input(cls, _: type, value: Mapping[str, Any], __: object) -> "PreparedBatch":
        """strawberry's from_input hook: the batch straight from graphql-core's coerced values.

        strawberry's own conversion builds an input object per message and resolves each field's
        type annotation on the way: 85% of a 1,000-message request's CPU (profiled), for values
        graphql-core has already coerced and checked against the schema.
        """
        return cls([_prepared(partial(_from_coerced, raw)) for raw in value["messages"]])


def _prepared(build: Callable[[], ingest.NewMessage]) -> ingest.NewMessage | DomainError:
    try:
        return build()
    except BadUserInput as bad:
        # An id that is not a UUID fails its message only, like every other input error.
        return DomainError("INVALID_INPUT", bad.message, ["input"])


def _from_coerced(raw: Mapping[str, Any]) -> ingest.NewMessage:
    """A message from graphql-core's coerced input (defaults filled in, scalars parsed)."""
    usage = raw.get("usage")
    model_id = raw.get("modelId")
    return ingest.NewMessage(
        chat_id=parse_id(raw["chatId"], "chatId"),
        role=MessageRole(raw["role"]),
        model_id=parse_id(model_id, "modelId") if model_id is not None else None,
        usage=None
        if usage is None
        else TokenUsage(
            input_tokens=usage.get("inputTokens") or 0,
            output_tokens=usage.get("outputTokens") or 0,
            cache_read_tokens=usage.get("cacheReadTokens") or 0,
            cache_write_tokens=usage.get("cacheWriteTokens") or 0,
        ),
        total_cost_micros=raw.get("totalCostMicros"),
        created_at=raw.get("createdAt"),
        idempotency_key=raw.get("idempotencyKey"),
    )


get_object_definition(RecordChatMessagesInput, strict=True).from_input = PreparedBatch.from_input


def _batch_error(index: int, error: DomainError) -> UserError:
    """A message's error with its path inside the batch: ["input", "messages", "3", "createdAt"]."""
    rest = error.field[1:] if error.field and error.field[0] == "input" else (error.field or [])
    return UserError(
        code=UserErrorCode(error.code), message=error.message, field=["input", "messages", str(index), *rest]
    )


def _batch_result(index: int, outcome: "ingest.Recorded | DomainError") -> RecordChatMessageResult:
    if isinstance(outcome, DomainError):
        return RecordChatMessageResult(message=None, replayed=False, errors=[_batch_error(index, outcome)])
    return RecordChatMessageResult(
        message=ChatMessage(domain=outcome.message), replayed=outcome.replayed, errors=[]
    )


@strawberry.input(description="The message to delete.")
class DeleteChatMessageInput:
    message_id: strawberry.ID = strawberry.field(description="The message.")


@strawberry.type(description="The result of deleteChatMessage.")
class DeleteChatMessagePayload:
    message: ChatMessage | None = strawberry.field(description="The message, now deleted; null on error.")
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.type
class MessageMutation:
    @strawberry.mutation(
        description=(
            "Records one message and its cost. Cost is totalCostMicros when given, else computed "
            "from usage and the model's prices, else null (unpriced). With an idempotencyKey, a "
            "retry with the same input returns the first message and counts nothing twice; the "
            "same key with different input is IDEMPOTENCY_CONFLICT. CHATD or OWNER."
        )
    )
    async def record_chat_message(
        self,
        info: Info,
        input: Annotated[RecordChatMessageInput, strawberry.argument(description="The message.")],
    ) -> RecordChatMessagePayload:
        require_usage_writer(info.context.principal)
        message = input.to_domain()
        # One INSERT statement is atomic by itself: autocommit saves BEGIN and COMMIT, and lets the
        # batch path's two statements skip SQLAlchemy (two round trips after the token's).
        try:
            async with info.context.engine.connect() as conn:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                recorded = await ingest.record_message(conn, message)
        except DomainError as error:
            return RecordChatMessagePayload(
                message=None, replayed=False, errors=[UserError.from_domain(error)]
            )
        return RecordChatMessagePayload(
            message=ChatMessage(domain=recorded.message), replayed=recorded.replayed, errors=[]
        )

    @strawberry.mutation(
        description=(
            "recordChatMessage for many messages at once: each message succeeds or fails on its "
            "own, with the same idempotency and pricing rules, and the batch costs the same few "
            "statements whatever its size. CHATD, OWNER."
        )
    )
    async def record_chat_messages(
        self,
        info: Info,
        input: Annotated[RecordChatMessagesInput, strawberry.argument(description="The messages.")],
    ) -> RecordChatMessagesPayload:
        require_usage_writer(info.context.principal)
        # Built by PreparedBatch.from_input; a plain input object only if that hook is not in place.
        batch = input if isinstance(input, PreparedBatch) else PreparedBatch.of(input.messages)
        count = len(batch.messages)
        if not 1 <= count <= MAX_BATCH:
            error = UserError(
                code=UserErrorCode.INVALID_INPUT,
                message=f"A batch has 1 to {MAX_BATCH} messages, got {count}.",
                field=["input", "messages"],
            )
            return RecordChatMessagesPayload(results=[], errors=[error])
        results: list[RecordChatMessageResult | None] = [None] * count
        ready: list[tuple[int, ingest.NewMessage]] = []
        for index, item in enumerate(batch.messages):
            if isinstance(item, DomainError):
                results[index] = _batch_result(index, item)
            else:
                ready.append((index, item))
        if ready:
            async with info.context.engine.connect() as conn:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                outcomes = await ingest.record_messages(conn, [m for _, m in ready])
            for (index, _), outcome in zip(ready, outcomes, strict=True):
                results[index] = _batch_result(index, outcome)
        return RecordChatMessagesPayload(results=[r for r in results if r is not None], errors=[])

    @strawberry.mutation(
        description=(
            "Soft delete: the message's cost still counts toward spend. Deleting twice changes "
            "nothing. An unknown message is CHAT_NOT_FOUND. CHATD or OWNER."
        )
    )
    async def delete_chat_message(
        self,
        info: Info,
        input: Annotated[DeleteChatMessageInput, strawberry.argument(description="The message.")],
    ) -> DeleteChatMessagePayload:
        require_usage_writer(info.context.principal)
        message_id = parse_id(input.message_id, "messageId")
        outcome = await in_transaction(info, lambda conn: ingest.delete_message(conn, message_id))
        return DeleteChatMessagePayload(
            message=ChatMessage(domain=outcome.value) if outcome.value else None, errors=outcome.errors
        )
