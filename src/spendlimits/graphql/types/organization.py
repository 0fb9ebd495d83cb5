"""The Organization type."""

from datetime import datetime

import strawberry

from spendlimits.directory import organizations
from spendlimits.graphql.context import Info
from spendlimits.graphql.loaders.batch import required
from spendlimits.graphql.permissions import require_insight_reader
from spendlimits.graphql.types.group import Group
from spendlimits.graphql.types.spend_history import Bucket, From, SpendBucket, SpendSeries, To, load_series
from spendlimits.insight.history import Subject


@strawberry.type(description="A tenant of the platform; its members form its Everyone group.")
class Organization:
    domain: strawberry.Private[organizations.Organization]

    @strawberry.field(description="The organization's id, which is also its Everyone group's id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.domain.id))

    @strawberry.field(description="Unique, case-insensitively.")
    def name(self) -> str:
        return self.domain.name

    @strawberry.field(description="A name for people; may be empty.")
    def display_name(self) -> str:
        return self.domain.display_name

    @strawberry.field(description="When the organization was created.")
    def created_at(self) -> datetime:
        return self.domain.created_at

    @strawberry.field(
        description="The organization's implicit group of all its members; its id equals the organization's id."
    )
    async def everyone_group(self, info: Info) -> Group:
        group = await info.context.loaders.group.load(self.domain.id)
        return Group(domain=required(group, "Everyone group"))

    @strawberry.field(
        description="Members that are neither system users nor deleted: its Everyone group's memberCount."
    )
    async def member_count(self, info: Info) -> int:
        # The Everyone group has the organization's id and the organization's members, so one
        # loader (and one batch) serves both counts.
        return await info.context.loaders.group_member_count.load(self.domain.id)

    @strawberry.field(description="Spend over time of every chat in this organization. OWNER, AUDITOR.")
    async def chat_spend_history(
        self, info: Info, from_: From, to: To, bucket: Bucket = SpendBucket.DAY
    ) -> SpendSeries:
        require_insight_reader(info.context.principal)
        return await load_series(info, Subject.ORGANIZATION, self.domain.id, from_, to, bucket)
