"""The ChatMessage type."""

from datetime import datetime

import strawberry

from spendlimits.directory import messages
from spendlimits.directory.messages import MessageRole
from spendlimits.graphql.context import Info
from spendlimits.graphql.descriptions import described_enum
from spendlimits.graphql.loaders.batch import required
from spendlimits.graphql.scalars import Micros
from spendlimits.graphql.types.chat import Chat
from spendlimits.graphql.types.chat_model import ChatModel

described_enum(
    MessageRole,
    "ChatMessageRole",
    "Who wrote a message.",
    {
        "SYSTEM": "The system prompt.",
        "USER": "The person using the chat.",
        "ASSISTANT": "The LLM's answer.",
        "TOOL": "The output of a tool the LLM called.",
    },
)


@strawberry.type(description="One message of a chat and what it cost.")
class ChatMessage:
    domain: strawberry.Private[messages.ChatMessage]

    @strawberry.field(description="The message's id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.domain.id))

    @strawberry.field(description="The chat the message belongs to.")
    async def chat(self, info: Info) -> Chat:
        chat = await info.context.loaders.chat.load(self.domain.chat_id)
        return Chat(domain=required(chat, "message's chat"))

    @strawberry.field(description="Who wrote the message.")
    def role(self) -> MessageRole:
        return MessageRole(self.domain.role)

    @strawberry.field(description="The model that produced the message; null when none was recorded.")
    async def model(self, info: Info) -> ChatModel | None:
        if self.domain.model_id is None:
            return None
        model = await info.context.loaders.chat_model.load(self.domain.model_id)
        return ChatModel(domain=required(model, "message's model"))

    @strawberry.field(
        description="Null when the message's model had no price (unpriced usage is not counted)."
    )
    def total_cost_micros(self) -> Micros | None:
        cost = self.domain.total_cost_micros
        return None if cost is None else Micros(cost)

    @strawberry.field(description="Soft-deleted: the message's cost still counts toward spend.")
    def deleted(self) -> bool:
        return self.domain.deleted

    @strawberry.field(description="Decides which period the cost falls in.")
    def created_at(self) -> datetime:
        return self.domain.created_at
