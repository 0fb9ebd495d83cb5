"""Organizations and their members: OWNER only."""

from typing import Annotated

import strawberry

from spendlimits.directory import members, organizations
from spendlimits.graphql.context import Info
from spendlimits.graphql.errors import UserError, parse_id
from spendlimits.graphql.mutations.transaction import in_transaction
from spendlimits.graphql.permissions import require_owner
from spendlimits.graphql.types.organization import Organization
from spendlimits.graphql.types.user import User

ERRORS = "Why nothing was done; empty on success."


@strawberry.input(description="A new organization. Its Everyone group is created with it.")
class CreateOrganizationInput:
    name: str = strawberry.field(
        description="Unique, case-insensitively: 1 to 64 letters, digits, '.', '_' or '-'."
    )
    display_name: str | None = strawberry.field(default=None, description="Shown to people; default empty.")


@strawberry.type(description="The result of createOrganization.")
class CreateOrganizationPayload:
    organization: Organization | None = strawberry.field(description="The new organization; null on error.")
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.input(description="A user and an organization.")
class OrganizationMemberInput:
    organization_id: strawberry.ID = strawberry.field(description="The organization.")
    user_id: strawberry.ID = strawberry.field(description="The user.")


@strawberry.type(description="The result of addOrganizationMember and removeOrganizationMember.")
class OrganizationMemberPayload:
    organization: Organization | None = strawberry.field(description="The organization; null on error.")
    user: User | None = strawberry.field(description="The user; null on error.")
    errors: list[UserError] = strawberry.field(description=ERRORS)


def _membership_payload(
    membership: members.OrganizationMembership | None, errors: list[UserError]
) -> OrganizationMemberPayload:
    if membership is None:
        return OrganizationMemberPayload(organization=None, user=None, errors=errors)
    return OrganizationMemberPayload(
        organization=Organization(domain=membership.organization),
        user=User(domain=membership.user),
        errors=errors,
    )


@strawberry.type
class OrganizationMutation:
    @strawberry.mutation(description="Creates an organization and its Everyone group. OWNER only.")
    async def create_organization(
        self,
        info: Info,
        input: Annotated[CreateOrganizationInput, strawberry.argument(description="The organization.")],
    ) -> CreateOrganizationPayload:
        require_owner(info.context.principal)
        outcome = await in_transaction(
            info,
            lambda conn: organizations.create_organization(
                conn, name=input.name, display_name=input.display_name or ""
            ),
        )
        return CreateOrganizationPayload(
            organization=Organization(domain=outcome.value) if outcome.value else None, errors=outcome.errors
        )

    @strawberry.mutation(
        description=(
            "Makes a live user a member of an organization, and so of its Everyone group. Adding a "
            "member again changes nothing. OWNER only."
        )
    )
    async def add_organization_member(
        self,
        info: Info,
        input: Annotated[OrganizationMemberInput, strawberry.argument(description="Who joins what.")],
    ) -> OrganizationMemberPayload:
        require_owner(info.context.principal)
        organization_id = parse_id(input.organization_id, "organizationId")
        user_id = parse_id(input.user_id, "userId")
        outcome = await in_transaction(
            info, lambda conn: members.add_organization_member(conn, organization_id, user_id)
        )
        return _membership_payload(outcome.value, outcome.errors)

    @strawberry.mutation(
        description=(
            "Removes a user from an organization and from that organization's groups. Removing a "
            "non-member changes nothing. OWNER only."
        )
    )
    async def remove_organization_member(
        self,
        info: Info,
        input: Annotated[OrganizationMemberInput, strawberry.argument(description="Who leaves what.")],
    ) -> OrganizationMemberPayload:
        require_owner(info.context.principal)
        organization_id = parse_id(input.organization_id, "organizationId")
        user_id = parse_id(input.user_id, "userId")
        outcome = await in_transaction(
            info, lambda conn: members.remove_organization_member(conn, organization_id, user_id)
        )
        return _membership_payload(outcome.value, outcome.errors)
