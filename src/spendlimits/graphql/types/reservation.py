"""The ChatSpendReservation type: budget held for one LLM call between reserve and settle."""

from datetime import UTC, datetime

import strawberry

from spendlimits.graphql.context import Info
from spendlimits.graphql.descriptions import described_enum
from spendlimits.graphql.loaders.batch import required
from spendlimits.graphql.scalars import Micros
from spendlimits.graphql.types.chat import Chat
from spendlimits.graphql.types.chat_message import ChatMessage
from spendlimits.graphql.types.organization import Organization
from spendlimits.graphql.types.user import User
from spendlimits.limits import reservations
from spendlimits.limits.reservations import ReservationState

described_enum(
    ReservationState,
    "ChatSpendReservationState",
    (
        "HELD: counts against the limit until settled, released or expired. SETTLED: its message "
        "is recorded. RELEASED: ended without a cost. EXPIRED: neither settled nor released within "
        "its TTL, so it no longer holds anything (a later settle still records the cost)."
    ),
    {
        "HELD": "Counts against the limit until settled, released or expired.",
        "SETTLED": "Its message is recorded; the hold became spend.",
        "RELEASED": "Ended without a cost.",
        "EXPIRED": "Neither settled nor released within its TTL: holds nothing (a later settle still records the cost).",
    },
)


@strawberry.type(
    description=(
        "Budget held for one LLM call: admitted by reserveChatSpend, ended by settleChatSpend "
        "(with the actual cost) or releaseChatSpend."
    )
)
class ChatSpendReservation:
    domain: strawberry.Private[reservations.Reservation]

    @strawberry.field(description="The reservation's id: what settleChatSpend and releaseChatSpend take.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.domain.id))

    @strawberry.field(description="Whose budget is held.")
    async def user(self, info: Info) -> User:
        user = await info.context.loaders.user.load(self.domain.user_id)
        return User(domain=required(user, "reservation's user"))

    @strawberry.field(
        description="The organization whose scope the hold was admitted in; null for all organizations."
    )
    async def organization(self, info: Info) -> Organization | None:
        if self.domain.organization_id is None:
            return None
        organization = await info.context.loaders.organization.load(self.domain.organization_id)
        return Organization(domain=required(organization, "reservation's organization"))

    @strawberry.field(description="The chat the call is for, when the daemon said so.")
    async def chat(self, info: Info) -> Chat | None:
        if self.domain.chat_id is None:
            return None
        chat = await info.context.loaders.chat.load(self.domain.chat_id)
        return Chat(domain=required(chat, "reservation's chat"))

    @strawberry.field(description="The estimate held against the limit.")
    def amount_micros(self) -> Micros:
        return Micros(self.domain.amount_micros)

    @strawberry.field(description="Where the reservation stands now; a HELD one past expiresAt is EXPIRED.")
    def state(self) -> ReservationState:
        return self.domain.state_at(datetime.now(UTC))

    @strawberry.field(description="When it was admitted.")
    def created_at(self) -> datetime:
        return self.domain.created_at

    @strawberry.field(description="When the hold lapses if it is neither settled nor released.")
    def expires_at(self) -> datetime:
        return self.domain.expires_at

    @strawberry.field(description="The message recorded by settle, once SETTLED.")
    async def message(self, info: Info) -> ChatMessage | None:
        if self.domain.message_id is None:
            return None
        message = await info.context.loaders.chat_message.load(self.domain.message_id)
        return ChatMessage(domain=required(message, "reservation's message"))
