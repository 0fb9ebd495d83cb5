"""The ChatMessage type."""

from datetime import datetime

import strawberry

from spendlimits.directory import messages
from spendlimits.directory.messages import MessageRole
from spendlimits.graphql.scalars import Micros

strawberry.enum(MessageRole, name="ChatMessageRole", description="Who wrote a message.")


@strawberry.type(description="One message of a chat and what it cost.")
class ChatMessage:
    domain: strawberry.Private[messages.ChatMessage]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.domain.id))

    @strawberry.field
    def role(self) -> MessageRole:
        return MessageRole(self.domain.role)

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
