"""The Chat type."""

from datetime import datetime

import strawberry

from spendlimits.directory import chats


@strawberry.type(description="A conversation; its messages' costs count toward its owner's spend.")
class Chat:
    domain: strawberry.Private[chats.Chat]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.domain.id))

    @strawberry.field
    def title(self) -> str:
        return self.domain.title

    @strawberry.field(description="Archived chats still count toward spend.")
    def archived(self) -> bool:
        return self.domain.archived

    @strawberry.field
    def created_at(self) -> datetime:
        return self.domain.created_at
