"""The Group type.

Other type modules import Group by name, so this module imports none of them at load time: the
types it returns are lazy annotations and are imported inside the resolvers, which breaks the
Group <-> User and Group <-> Organization import cycles whichever module loads first.
"""

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from spendlimits.directory import groups
from spendlimits.graphql.context import Info
from spendlimits.graphql.loaders.batch import required
from spendlimits.graphql.pagination import PageInfo, PageRequest, page_request
from spendlimits.graphql.permissions import require_directory_reader, require_insight_reader
from spendlimits.graphql.scalars import Micros
from spendlimits.graphql.types.spend_history import Bucket, From, SpendBucket, SpendSeries, To, load_series
from spendlimits.insight.history import Subject

if TYPE_CHECKING:
    from spendlimits.graphql.types.organization import Organization
    from spendlimits.graphql.types.user import UserConnection


@strawberry.type(description="A set of users in one organization, with an optional spend-limit override.")
class Group:
    domain: strawberry.Private[groups.Group]

    @strawberry.field(description="The group's id; an Everyone group's id is its organization's id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.domain.id))

    @strawberry.field(description="Unique within the organization.")
    def name(self) -> str:
        return self.domain.name

    @strawberry.field(description="A name for people; may be empty.")
    def display_name(self) -> str:
        return self.domain.display_name

    @strawberry.field(description="Picture URL; may be empty.")
    def avatar_url(self) -> str:
        return self.domain.avatar_url

    @strawberry.field(description="True for the organization's implicit group of all its members.")
    def is_everyone(self) -> bool:
        return self.domain.is_everyone

    @strawberry.field(description="When the group was created.")
    def created_at(self) -> datetime:
        return self.domain.created_at

    @strawberry.field(description="The group's override; null when none.")
    def chat_spend_limit_micros(self) -> Micros | None:
        limit = self.domain.chat_spend_limit_micros
        return None if limit is None else Micros(limit)

    @strawberry.field(description="The organization the group belongs to.")
    async def organization(
        self, info: Info
    ) -> Annotated["Organization", strawberry.lazy("spendlimits.graphql.types.organization")]:
        from spendlimits.graphql.types.organization import Organization

        organization = await info.context.loaders.organization.load(self.domain.organization_id)
        return Organization(domain=required(organization, "group's organization"))

    @strawberry.field(
        description=(
            "Members that are neither system users nor deleted. The Everyone group counts its "
            "implicit members: the organization's members."
        )
    )
    async def member_count(self, info: Info) -> int:
        return await info.context.loaders.group_member_count.load(self.domain.id)

    @strawberry.field(
        description=(
            "The users memberCount counts (the Everyone group's are the organization's), ordered "
            "by username. OWNER, AUDITOR, CHATD; a MEMBER sees the count but not other users."
        )
    )
    async def members(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description="Page size, 1 to 500.")] = 50,
        after: Annotated[
            str | None, strawberry.argument(description="The endCursor of the previous page.")
        ] = None,
    ) -> Annotated["UserConnection", strawberry.lazy("spendlimits.graphql.types.user")]:
        from spendlimits.graphql.types.user import UserConnection

        require_directory_reader(info.context.principal)
        request = page_request(first, after)
        loaders = info.context.loaders
        # Members excludes exactly what memberCount excludes, so the count is the page's total.
        members, total = await asyncio.gather(
            loaders.group_members.load((self.domain.id, request.limit, request.offset)),
            loaders.group_member_count.load(self.domain.id),
        )
        return UserConnection.build(request, members, total)

    @strawberry.field(
        description=(
            "Spend over time of the group's current members (deleted and system users left out), in "
            "chats of the group's organization. OWNER, AUDITOR."
        )
    )
    async def chat_spend_history(
        self, info: Info, from_: From, to: To, bucket: Bucket = SpendBucket.DAY
    ) -> SpendSeries:
        require_insight_reader(info.context.principal)
        return await load_series(info, Subject.GROUP, self.domain.id, from_, to, bucket)


@strawberry.type(description="A page of groups.")
class GroupConnection:
    nodes: list[Group] = strawberry.field(description="The groups of this page, in order.")
    page_info: PageInfo = strawberry.field(description="Where this page ends and whether more follow.")
    total_count: int = strawberry.field(description="How many groups the whole list has.")

    @classmethod
    def build(cls, request: PageRequest, items: list[groups.Group], total: int) -> "GroupConnection":
        return cls(
            nodes=[Group(domain=g) for g in items],
            page_info=request.page_info(len(items), total),
            total_count=total,
        )
