"""The ChatSpendReservation type: budget held for one LLM call between reserve and settle."""

import uuid
from datetime import UTC, datetime
from typing import TypeVar

import strawberry
from strawberry.dataloader import DataLoader

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

D = TypeVar("D")

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


async def _loaded(loader: DataLoader[uuid.UUID, D | None], key: uuid.UUID | None, what: str) -> D | None:
    """The row behind one of the reservation's foreign keys; None when the key is."""
    return None if key is None else required(await loader.load(key), what)


async def _user(root: "ChatSpendReservation", info: Info) -> User:
    user = await info.context.loaders.user.load(root.domain.user_id)
    return User(domain=required(user, "reservation's user"))


async def _organization(root: "ChatSpendReservation", info: Info) -> Organization | None:
    found = await _loaded(
        info.context.loaders.organization, root.domain.organization_id, "reservation's organization"
    )
    return None if found is None else Organization(domain=found)


async def _chat(root: "ChatSpendReservation", info: Info) -> Chat | None:
    found = await _loaded(info.context.loaders.chat, root.domain.chat_id, "reservation's chat")
    return None if found is None else Chat(domain=found)


async def _message(root: "ChatSpendReservation", info: Info) -> ChatMessage | None:
    found = await _loaded(info.context.loaders.chat_message, root.domain.message_id, "reservation's message")
    return None if found is None else ChatMessage(domain=found)


@strawberry.type(
    description=(
        "Budget held for one LLM call: admitted by reserveChatSpend, ended by settleChatSpend "
        "(with the actual cost) or releaseChatSpend."
    )
)
class ChatSpendReservation:
    """Plain fields where no loader is needed, copied out by the constructor: a method field costs
    strawberry's resolver wrapper per field (graphql/types/limit_status.py says more). Resolvers
    given by argument keep each field's place in the schema."""

    domain: strawberry.Private[reservations.Reservation]
    id: strawberry.ID = strawberry.field(
        description="The reservation's id: what settleChatSpend and releaseChatSpend take."
    )
    user: User = strawberry.field(resolver=_user, description="Whose budget is held.")
    organization: Organization | None = strawberry.field(
        resolver=_organization,
        description="The organization whose scope the hold was admitted in; null for all organizations.",
    )
    chat: Chat | None = strawberry.field(
        resolver=_chat, description="The chat the call is for, when the daemon said so."
    )
    amount_micros: Micros = strawberry.field(description="The estimate held against the limit.")
    state: ReservationState = strawberry.field(
        description="Where the reservation stands now; a HELD one past expiresAt is EXPIRED."
    )
    created_at: datetime = strawberry.field(description="When it was admitted.")
    expires_at: datetime = strawberry.field(
        description="When the hold lapses if it is neither settled nor released."
    )
    message: ChatMessage | None = strawberry.field(
        resolver=_message, description="The message recorded by settle, once SETTLED."
    )

    def __init__(self, domain: reservations.Reservation) -> None:
        self.domain = domain
        self.id = strawberry.ID(str(domain.id))
        self.amount_micros = Micros(domain.amount_micros)
        # "Now" is when the answer is built, in the resolver that found the reservation.
        self.state = domain.state_at(datetime.now(UTC))
        self.created_at = domain.created_at
        self.expires_at = domain.expires_at
