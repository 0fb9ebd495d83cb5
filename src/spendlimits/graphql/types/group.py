"""The Group type."""

from datetime import datetime

import strawberry

from spendlimits.directory import groups


@strawberry.type(description="A set of users in one organization, with an optional spend-limit override.")
class Group:
    domain: strawberry.Private[groups.Group]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.domain.id))

    @strawberry.field(description="Unique within the organization.")
    def name(self) -> str:
        return self.domain.name

    @strawberry.field
    def display_name(self) -> str:
        return self.domain.display_name

    @strawberry.field
    def avatar_url(self) -> str:
        return self.domain.avatar_url

    @strawberry.field(description="True for the organization's implicit group of all its members.")
    def is_everyone(self) -> bool:
        return self.domain.is_everyone

    @strawberry.field
    def created_at(self) -> datetime:
        return self.domain.created_at
