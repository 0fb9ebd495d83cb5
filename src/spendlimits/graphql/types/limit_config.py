"""The admin page's view of limits: ChatUsageLimitConfig and the override lists hanging off it."""

from datetime import datetime
from typing import Annotated

import strawberry

from spendlimits.directory.pages import Page
from spendlimits.graphql.context import Info
from spendlimits.graphql.pagination import PageInfo, PageRequest, page_request
from spendlimits.graphql.scalars import Micros
from spendlimits.graphql.types.enums import EnforcementMode, Period
from spendlimits.graphql.types.group import Group
from spendlimits.graphql.types.user import User
from spendlimits.limits import config
from spendlimits.limits.overrides import (
    GroupOverride,
    UserOverride,
    list_group_overrides,
    list_user_overrides,
)

First = Annotated[int | None, strawberry.argument(description="Page size, 1 to 500.")]
After = Annotated[str | None, strawberry.argument(description="The endCursor of the previous page.")]


@strawberry.type(description="A user's own override of the limit.")
class ChatUsageLimitOverride:
    domain: strawberry.Private[UserOverride]

    @strawberry.field(description="The user the override applies to.")
    def user(self) -> User:
        return User(domain=self.domain.user)

    @strawberry.field(description="The user's limit per period; it wins over group limits and the default.")
    def spend_limit_micros(self) -> Micros:
        return Micros(self.domain.spend_limit_micros)


@strawberry.type(description="A page of user overrides, ordered by username.")
class ChatUsageLimitOverrideConnection:
    nodes: list[ChatUsageLimitOverride] = strawberry.field(
        description="The overrides of this page, in order."
    )
    page_info: PageInfo = strawberry.field(description="Where this page ends and whether more follow.")
    total_count: int = strawberry.field(description="How many users have an override.")

    @classmethod
    def build(cls, request: PageRequest, page: Page[UserOverride]) -> "ChatUsageLimitOverrideConnection":
        return cls(
            nodes=[ChatUsageLimitOverride(domain=o) for o in page.items],
            page_info=request.page_info(len(page.items), page.total_count),
            total_count=page.total_count,
        )


@strawberry.type(description="A group's override of the limit.")
class ChatUsageLimitGroupOverride:
    domain: strawberry.Private[GroupOverride]

    @strawberry.field(description="The group the override applies to.")
    def group(self) -> Group:
        return Group(domain=self.domain.group)

    @strawberry.field(
        description="Members that are neither system users nor deleted, implicit Everyone members included."
    )
    async def member_count(self, info: Info) -> int:
        return await info.context.loaders.group_member_count.load(self.domain.group.id)

    @strawberry.field(
        description="The group's limit per period; a member gets the lowest of their groups' limits."
    )
    def spend_limit_micros(self) -> Micros:
        return Micros(self.domain.spend_limit_micros)


@strawberry.type(description="A page of group overrides, ordered by group name.")
class ChatUsageLimitGroupOverrideConnection:
    nodes: list[ChatUsageLimitGroupOverride] = strawberry.field(
        description="The group overrides of this page, in order."
    )
    page_info: PageInfo = strawberry.field(description="Where this page ends and whether more follow.")
    total_count: int = strawberry.field(description="How many groups have an override.")

    @classmethod
    def build(
        cls, request: PageRequest, page: Page[GroupOverride]
    ) -> "ChatUsageLimitGroupOverrideConnection":
        return cls(
            nodes=[ChatUsageLimitGroupOverride(domain=o) for o in page.items],
            page_info=request.page_info(len(page.items), page.total_count),
            total_count=page.total_count,
        )


@strawberry.type(description="The deployment-wide limit configuration and its overrides.")
class ChatUsageLimitConfig:
    domain: strawberry.Private[config.LimitConfig]

    @strawberry.field(
        description="True when limits are switched on. Off means every user is unlimited, overrides included."
    )
    def enabled(self) -> bool:
        return self.domain.enabled

    @strawberry.field(
        description="The deployment-wide default limit per user per period; null when disabled."
    )
    def spend_limit_micros(self) -> Micros | None:
        return Micros(self.domain.default_limit_micros) if self.domain.enabled else None

    @strawberry.field(description="The length of every limit's period (MONTH on a fresh install).")
    def period(self) -> Period:
        return self.domain.period

    @strawberry.field(description="When the configuration last changed.")
    def updated_at(self) -> datetime:
        return self.domain.updated_at

    @strawberry.field(
        description=(
            "What a check or reserve does when the decision cannot be evaluated: FAIL_OPEN (the "
            "default) allows the work, FAIL_CLOSED refuses it."
        )
    )
    def enforcement_mode(self) -> EnforcementMode:
        return self.domain.enforcement_mode

    @strawberry.field(
        description="How long a reservation holds budget when it is neither settled nor released."
    )
    def reservation_ttl_seconds(self) -> int:
        return self.domain.reservation_ttl_seconds

    @strawberry.field(
        description="Shares of the limit, in percent, ascending, at which a frontend should warn (default [75, 90])."
    )
    def warning_thresholds_percent(self) -> list[int]:
        return list(self.domain.warning_thresholds_percent)

    @strawberry.field(
        description="Enabled models with neither an input nor an output price: their usage cannot be counted."
    )
    async def unpriced_model_count(self, info: Info) -> int:
        async with info.context.engine.connect() as conn:
            return await config.unpriced_model_count(conn)

    @strawberry.field(
        description="Users with an override, ordered by username. Deleted users are not listed."
    )
    async def overrides(
        self, info: Info, first: First = 100, after: After = None
    ) -> ChatUsageLimitOverrideConnection:
        request = page_request(first, after, default=100)
        async with info.context.engine.connect() as conn:
            page = await list_user_overrides(conn, limit=request.limit, offset=request.offset)
        return ChatUsageLimitOverrideConnection.build(request, page)

    @strawberry.field(description="Groups with an override, ordered by name.")
    async def group_overrides(
        self, info: Info, first: First = 100, after: After = None
    ) -> ChatUsageLimitGroupOverrideConnection:
        request = page_request(first, after, default=100)
        async with info.context.engine.connect() as conn:
            page = await list_group_overrides(conn, limit=request.limit, offset=request.offset)
        return ChatUsageLimitGroupOverrideConnection.build(request, page)
