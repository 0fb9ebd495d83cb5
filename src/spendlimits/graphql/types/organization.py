"""The Organization type."""

from datetime import datetime

import strawberry

from spendlimits.directory import organizations


@strawberry.type(description="A tenant of the platform; its members form its Everyone group.")
class Organization:
    domain: strawberry.Private[organizations.Organization]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.domain.id))

    @strawberry.field(description="Unique, case-insensitively.")
    def name(self) -> str:
        return self.domain.name

    @strawberry.field
    def display_name(self) -> str:
        return self.domain.display_name

    @strawberry.field
    def created_at(self) -> datetime:
        return self.domain.created_at
