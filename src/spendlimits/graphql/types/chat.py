"""The Chat type."""

from datetime import datetime

import strawberry

from spendlimits.directory import chats
from spendlimits.graphql.context import Info
from spendlimits.graphql.loaders.batch import required
from spendlimits.graphql.scalars import Micros
from spendlimits.graphql.types.organization import Organization
from spendlimits.graphql.types.user import User


@strawberry.type(description="A conversation; its messages' costs count toward its owner's spend.")
class Chat:
    domain: strawberry.Private[chats.Chat]

    @strawberry.field(description="The chat's id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.domain.id))

    @strawberry.field(description="At most 512 characters; may be empty.")
    def title(self) -> str:
        return self.domain.title

    @strawberry.field(description="Archived chats still count toward spend.")
    def archived(self) -> bool:
        return self.domain.archived

    @strawberry.field(description="When the chat was created.")
    def created_at(self) -> datetime:
        return self.domain.created_at

    @strawberry.field(description="Whose spend the chat's messages count toward.")
    async def owner(self, info: Info) -> User:
        user = await info.context.loaders.user.load(self.domain.owner_id)
        return User(domain=required(user, "chat owner"))

    @strawberry.field(description="The organization the chat belongs to.")
    async def organization(self, info: Info) -> Organization:
        organization = await info.context.loaders.organization.load(self.domain.organization_id)
        return Organization(domain=required(organization, "chat's organization"))

    @strawberry.field(description="The chat that started this sub-agent chat; null for a top-level chat.")
    async def parent_chat(self, info: Info) -> "Chat | None":
        if self.domain.parent_chat_id is None:
            return None
        parent = await info.context.loaders.chat.load(self.domain.parent_chat_id)
        return Chat(domain=required(parent, "parent chat"))

    @strawberry.field(description="Sum of the costs of all its messages, soft-deleted ones included.")
    async def total_cost_micros(self, info: Info) -> Micros:
        return Micros(await info.context.loaders.chat_total_cost.load(self.domain.id))
