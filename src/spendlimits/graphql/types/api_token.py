"""The ApiToken type: a token's metadata, never its secret."""

from datetime import datetime

import strawberry

from spendlimits.auth import tokens
from spendlimits.graphql.context import Info
from spendlimits.graphql.loaders.batch import required
from spendlimits.graphql.pagination import PageInfo, PageRequest
from spendlimits.graphql.types.enums import Service
from spendlimits.graphql.types.user import User


@strawberry.type(description="An API token's metadata. The secret is shown only once, when it is created.")
class ApiToken:
    domain: strawberry.Private[tokens.ApiToken]

    @strawberry.field(description="The token's id, for revokeApiToken.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.domain.id))

    @strawberry.field(description="Its label, given when it was created.")
    def name(self) -> str:
        return self.domain.name

    @strawberry.field(description="The user it acts for; null for a service token.")
    async def user(self, info: Info) -> User | None:
        if self.domain.user_id is None:
            return None
        user = await info.context.loaders.user.load(self.domain.user_id)
        return User(domain=required(user, "token's user"))

    @strawberry.field(description="The service it acts for; null for a user's token.")
    def service(self) -> Service | None:
        return self.domain.service

    @strawberry.field(description="When it was created (UTC).")
    def created_at(self) -> datetime:
        return self.domain.created_at

    @strawberry.field(description="Updated at most once a minute.")
    def last_used_at(self) -> datetime | None:
        return self.domain.last_used_at

    @strawberry.field(description="Set once the token is revoked; it is refused from then on.")
    def revoked_at(self) -> datetime | None:
        return self.domain.revoked_at


@strawberry.type(description="A page of API tokens, newest first.")
class ApiTokenConnection:
    nodes: list[ApiToken] = strawberry.field(description="The tokens of this page, in order.")
    page_info: PageInfo = strawberry.field(description="Where this page ends and whether more follow.")
    total_count: int = strawberry.field(description="How many tokens the whole list has.")

    @classmethod
    def build(cls, request: PageRequest, items: list[tokens.ApiToken], total: int) -> "ApiTokenConnection":
        return cls(
            nodes=[ApiToken(domain=t) for t in items],
            page_info=request.page_info(len(items), total),
            total_count=total,
        )
