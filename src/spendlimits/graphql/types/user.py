"""The User type."""

from datetime import datetime
from typing import Annotated

import strawberry

from spendlimits.directory import users
from spendlimits.graphql.context import Info
from spendlimits.graphql.errors import parse_id
from spendlimits.graphql.loaders.batch import required
from spendlimits.graphql.pagination import PageInfo, PageRequest
from spendlimits.graphql.permissions import require_user_reader
from spendlimits.graphql.scalars import Micros
from spendlimits.graphql.types.enums import Role
from spendlimits.graphql.types.group import Group
from spendlimits.graphql.types.limit_status import (
    AT_DESCRIPTION,
    ChatUsageLimitStatus,
    EffectiveChatSpendLimit,
    parse_scope,
)
from spendlimits.graphql.types.organization import Organization
from spendlimits.graphql.types.spend_history import Bucket, From, SpendBucket, SpendSeries, To, load_series
from spendlimits.insight.history import Subject


@strawberry.type(description="A person or system account whose LLM spend is limited.")
class User:
    domain: strawberry.Private[users.User]

    @strawberry.field(description="The user's id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.domain.id))

    @strawberry.field(description="Unique among live users, case-insensitively.")
    def username(self) -> str:
        return self.domain.username

    @strawberry.field(description="Full name; may be empty.")
    def name(self) -> str:
        return self.domain.name

    @strawberry.field(description="Email address; null when unknown.")
    def email(self) -> str | None:
        return self.domain.email

    @strawberry.field(description="Picture URL; may be empty.")
    def avatar_url(self) -> str:
        return self.domain.avatar_url

    @strawberry.field(description="Deployment-wide role: what the user's own tokens may read and change.")
    def role(self) -> Role:
        return self.domain.role

    @strawberry.field(description="System accounts are not counted as group members.")
    def is_system(self) -> bool:
        return self.domain.is_system

    @strawberry.field(description="Soft-deleted: keeps spend history, belongs to no group.")
    def deleted(self) -> bool:
        return self.domain.deleted

    @strawberry.field(description="When the user was created.")
    def created_at(self) -> datetime:
        return self.domain.created_at

    @strawberry.field(description="The organizations the user is a member of, ordered by name.")
    async def organizations(self, info: Info) -> list[Organization]:
        require_user_reader(info.context.principal, self.domain.id)
        found = await info.context.loaders.user_organizations.load(self.domain.id)
        return [Organization(domain=o) for o in found]

    @strawberry.field(
        description=(
            "Explicit groups plus the Everyone group of each organization the user belongs to, "
            "ordered by name. Empty for a deleted user."
        )
    )
    async def groups(
        self,
        info: Info,
        organization_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only groups of this organization; omitted means all."),
        ] = None,
    ) -> list[Group]:
        require_user_reader(info.context.principal, self.domain.id)
        organization = None if organization_id is None else parse_id(organization_id, "organizationId")
        found = await info.context.loaders.user_groups.load((self.domain.id, organization))
        return [Group(domain=g) for g in found]

    @strawberry.field(description="The user's own override; null when none.")
    def chat_spend_limit_micros(self, info: Info) -> Micros | None:
        require_user_reader(info.context.principal, self.domain.id)
        limit = self.domain.chat_spend_limit_micros
        return None if limit is None else Micros(limit)

    @strawberry.field(
        description="The limit that applies to the user, and which tier of the hierarchy it comes from."
    )
    async def effective_chat_spend_limit(
        self,
        info: Info,
        organization_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only groups of this organization compete; omitted means all."),
        ] = None,
    ) -> EffectiveChatSpendLimit:
        require_user_reader(info.context.principal, self.domain.id)
        organization, _ = parse_scope(organization_id)
        limit = await info.context.loaders.effective_limit.load((self.domain.id, organization))
        return EffectiveChatSpendLimit(domain=required(limit, "user's effective limit"))

    @strawberry.field(description="The user's spend against their limit in one period.")
    async def chat_usage_limit_status(
        self,
        info: Info,
        organization_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description=(
                    "Scopes group limits (and, when a group limit wins, spend) to one organization; "
                    "omitted means all organizations."
                )
            ),
        ] = None,
        at: Annotated[
            datetime | None,
            strawberry.argument(description=AT_DESCRIPTION),
        ] = None,
    ) -> ChatUsageLimitStatus:
        require_user_reader(info.context.principal, self.domain.id)
        organization, instant = parse_scope(organization_id, at)
        found = await info.context.loaders.limit_status.load((self.domain.id, organization, instant))
        return ChatUsageLimitStatus(domain=required(found, "user's limit status"))

    @strawberry.field(
        description=(
            "The user's spend over time (chats the user owns, the same rules as currentSpendMicros: "
            "deleted messages, archived and sub-agent chats count; unpriced messages do not); only "
            "chats of organizationId when given. Readable by whoever may read the user's status."
        )
    )
    async def chat_spend_history(
        self,
        info: Info,
        from_: From,
        to: To,
        bucket: Bucket = SpendBucket.DAY,
        organization_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only chats of this organization; omitted means all."),
        ] = None,
    ) -> SpendSeries:
        require_user_reader(info.context.principal, self.domain.id)
        organization = None if organization_id is None else parse_id(organization_id, "organizationId")
        return await load_series(info, Subject.USER, self.domain.id, from_, to, bucket, organization)


@strawberry.type(description="A page of users.")
class UserConnection:
    nodes: list[User] = strawberry.field(description="The users of this page, in order.")
    page_info: PageInfo = strawberry.field(description="Where this page ends and whether more follow.")
    total_count: int = strawberry.field(description="How many users the whole list has.")

    @classmethod
    def build(cls, request: PageRequest, items: list[users.User], total: int) -> "UserConnection":
        return cls(
            nodes=[User(domain=u) for u in items],
            page_info=request.page_info(len(items), total),
            total_count=total,
        )
