"""Groups and their explicit members: OWNER only."""

from typing import Annotated

import strawberry

from spendlimits.directory import groups, members
from spendlimits.graphql.context import Info
from spendlimits.graphql.errors import UserError, parse_id
from spendlimits.graphql.mutations.transaction import Outcome, in_transaction
from spendlimits.graphql.permissions import require_owner
from spendlimits.graphql.types.group import Group

ERRORS = "Why nothing was done; empty on success."


@strawberry.input(description="A new group in an organization.")
class CreateGroupInput:
    organization_id: strawberry.ID = strawberry.field(description="The organization the group belongs to.")
    name: str = strawberry.field(
        description="Unique within the organization: 1 to 64 letters, digits, '.', '_' or '-'."
    )
    display_name: str | None = strawberry.field(default=None, description="Shown to people; default empty.")
    avatar_url: str | None = strawberry.field(default=None, description="Picture URL; default empty.")


@strawberry.type(description="The result of createGroup.")
class CreateGroupPayload:
    group: Group | None = strawberry.field(description="The new group; null on error.")
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.input(description="A group and users to add to it or remove from it.")
class GroupMembersInput:
    group_id: strawberry.ID = strawberry.field(description="The group; not an Everyone group.")
    user_ids: list[strawberry.ID] = strawberry.field(description="The users, at most 1000.")


@strawberry.type(description="The result of addGroupMembers and removeGroupMembers.")
class GroupMembersPayload:
    group: Group | None = strawberry.field(description="The group after the change; null on error.")
    errors: list[UserError] = strawberry.field(description=ERRORS)


def _members_payload(outcome: Outcome[members.GroupMembershipChange]) -> GroupMembersPayload:
    return GroupMembersPayload(
        group=Group(domain=outcome.value.group) if outcome.value else None, errors=outcome.errors
    )


@strawberry.type
class GroupMutation:
    @strawberry.mutation(description="Creates a group in an organization. OWNER only.")
    async def create_group(
        self, info: Info, input: Annotated[CreateGroupInput, strawberry.argument(description="The group.")]
    ) -> CreateGroupPayload:
        require_owner(info.context.principal)
        organization_id = parse_id(input.organization_id, "organizationId")
        outcome = await in_transaction(
            info,
            lambda conn: groups.create_group(
                conn,
                organization_id=organization_id,
                name=input.name,
                display_name=input.display_name or "",
                avatar_url=input.avatar_url or "",
            ),
        )
        return CreateGroupPayload(
            group=Group(domain=outcome.value) if outcome.value else None, errors=outcome.errors
        )

    @strawberry.mutation(
        description=(
            "Adds users to a group; all or nothing. Members must belong to the group's organization. "
            "The Everyone group cannot be edited. Users already in the group are left as they are. "
            "OWNER only."
        )
    )
    async def add_group_members(
        self, info: Info, input: Annotated[GroupMembersInput, strawberry.argument(description="Who joins.")]
    ) -> GroupMembersPayload:
        require_owner(info.context.principal)
        group_id = parse_id(input.group_id, "groupId")
        user_ids = [parse_id(value, f"userIds[{index}]") for index, value in enumerate(input.user_ids)]
        return _members_payload(
            await in_transaction(info, lambda conn: members.add_group_members(conn, group_id, user_ids))
        )

    @strawberry.mutation(
        description=(
            "Removes users from a group; users not in it are ignored. The Everyone group cannot be "
            "edited. OWNER only."
        )
    )
    async def remove_group_members(
        self, info: Info, input: Annotated[GroupMembersInput, strawberry.argument(description="Who leaves.")]
    ) -> GroupMembersPayload:
        require_owner(info.context.principal)
        group_id = parse_id(input.group_id, "groupId")
        user_ids = [parse_id(value, f"userIds[{index}]") for index, value in enumerate(input.user_ids)]
        return _members_payload(
            await in_transaction(info, lambda conn: members.remove_group_members(conn, group_id, user_ids))
        )
