"""The User type."""

from datetime import datetime

import strawberry

from spendlimits.directory import users
from spendlimits.graphql.types.enums import Role


@strawberry.type(description="A person or system account whose LLM spend is limited.")
class User:
    domain: strawberry.Private[users.User]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.domain.id))

    @strawberry.field(description="Unique among live users, case-insensitively.")
    def username(self) -> str:
        return self.domain.username

    @strawberry.field
    def name(self) -> str:
        return self.domain.name

    @strawberry.field
    def email(self) -> str | None:
        return self.domain.email

    @strawberry.field
    def avatar_url(self) -> str:
        return self.domain.avatar_url

    @strawberry.field
    def role(self) -> Role:
        return self.domain.role

    @strawberry.field(description="System accounts are not counted as group members.")
    def is_system(self) -> bool:
        return self.domain.is_system

    @strawberry.field(description="Soft-deleted: keeps spend history, belongs to no group.")
    def deleted(self) -> bool:
        return self.domain.deleted

    @strawberry.field
    def created_at(self) -> datetime:
        return self.domain.created_at
