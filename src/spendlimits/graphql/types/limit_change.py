"""The audit log's types: ChatUsageLimitChangeKind, ChatUsageLimitChange and its connection."""

import uuid
from datetime import datetime

import strawberry

from spendlimits.auth.principal import Service
from spendlimits.graphql.context import Info
from spendlimits.graphql.descriptions import described_enum
from spendlimits.graphql.pagination import PageInfo
from spendlimits.graphql.scalars import Micros
from spendlimits.graphql.types.enums import EnforcementMode, Period
from spendlimits.graphql.types.group import Group
from spendlimits.graphql.types.user import User
from spendlimits.insight.audit import Change, ChangeKind

described_enum(
    ChangeKind,
    "ChatUsageLimitChangeKind",
    "What a limit change touched.",
    {
        "CONFIG": "The deployment's configuration: limits on or off, the default limit, the period.",
        "USER_OVERRIDE": "One user's own limit.",
        "GROUP_OVERRIDE": "One group's limit.",
    },
)


def _micros(value: int | None) -> Micros | None:
    return None if value is None else Micros(value)


@strawberry.type(description="One change of the limit configuration or an override, as it was committed.")
class ChatUsageLimitChange:
    domain: strawberry.Private[Change]

    @strawberry.field(description="Entries are numbered in the order they were written.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.domain.id))

    @strawberry.field(description="When the changing transaction started.")
    def at(self) -> datetime:
        return self.domain.at

    @strawberry.field(description="What the change touched.")
    def kind(self) -> ChangeKind:
        return self.domain.kind

    @strawberry.field(
        description="The user whose token made the change; null for a service or the command line."
    )
    async def actor(self, info: Info) -> User | None:
        return await _user(info, self.domain.actor_user_id)

    @strawberry.field(description="Set when a service token made the change.")
    def actor_service(self) -> Service | None:
        return self.domain.actor_service

    @strawberry.field(
        description="The user whose override changed (USER_OVERRIDE); null once the user is gone."
    )
    async def user(self, info: Info) -> User | None:
        return await _user(info, self.domain.user_id)

    @strawberry.field(
        description="The group whose override changed (GROUP_OVERRIDE); null once the group is gone."
    )
    async def group(self, info: Info) -> Group | None:
        if self.domain.group_id is None:
            return None
        found = await info.context.loaders.group.load(self.domain.group_id)
        return None if found is None else Group(domain=found)

    @strawberry.field(
        description=(
            "The limit before (for CONFIG the default limit); null where there was none (an "
            "override created, limits off)."
        )
    )
    def old_spend_limit_micros(self) -> Micros | None:
        return _micros(self.domain.old_spend_limit_micros)

    @strawberry.field(
        description="The limit after; null where there is none (an override deleted, limits off)."
    )
    def new_spend_limit_micros(self) -> Micros | None:
        return _micros(self.domain.new_spend_limit_micros)

    @strawberry.field(description="CONFIG only: whether limits were on before.")
    def old_enabled(self) -> bool | None:
        return self.domain.old_enabled

    @strawberry.field(description="CONFIG only: whether limits are on after.")
    def new_enabled(self) -> bool | None:
        return self.domain.new_enabled

    @strawberry.field(description="CONFIG only: the period before.")
    def old_period(self) -> Period | None:
        return self.domain.old_period

    @strawberry.field(description="CONFIG only: the period after.")
    def new_period(self) -> Period | None:
        return self.domain.new_period

    @strawberry.field(description="CONFIG only: the enforcement mode before.")
    def old_enforcement_mode(self) -> EnforcementMode | None:
        return self.domain.old_enforcement_mode

    @strawberry.field(description="CONFIG only: the enforcement mode after.")
    def new_enforcement_mode(self) -> EnforcementMode | None:
        return self.domain.new_enforcement_mode

    @strawberry.field(description="CONFIG only: the reservation TTL before, in seconds.")
    def old_reservation_ttl_seconds(self) -> int | None:
        return self.domain.old_reservation_ttl_seconds

    @strawberry.field(description="CONFIG only: the reservation TTL after, in seconds.")
    def new_reservation_ttl_seconds(self) -> int | None:
        return self.domain.new_reservation_ttl_seconds

    @strawberry.field(description="CONFIG only: the warning thresholds before, in percent.")
    def old_warning_thresholds_percent(self) -> list[int] | None:
        found = self.domain.old_warning_thresholds_percent
        return None if found is None else list(found)

    @strawberry.field(description="CONFIG only: the warning thresholds after, in percent.")
    def new_warning_thresholds_percent(self) -> list[int] | None:
        found = self.domain.new_warning_thresholds_percent
        return None if found is None else list(found)


async def _user(info: Info, user_id: uuid.UUID | None) -> User | None:
    if user_id is None:
        return None
    found = await info.context.loaders.user.load(user_id)
    return None if found is None else User(domain=found)


@strawberry.type(description="A page of limit changes, newest first.")
class ChatUsageLimitChangeConnection:
    nodes: list[ChatUsageLimitChange] = strawberry.field(
        description="The changes of this page, newest first."
    )
    page_info: PageInfo = strawberry.field(description="Where this page ends and whether more follow.")
    total_count: int = strawberry.field(description="How many changes match the filters.")
