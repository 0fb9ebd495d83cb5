"""Users: OWNER only."""

from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncConnection

from spendlimits.auth.principal import Role
from spendlimits.directory import members, users
from spendlimits.graphql.context import Info
from spendlimits.graphql.errors import UserError, parse_id
from spendlimits.graphql.mutations.transaction import in_transaction
from spendlimits.graphql.permissions import require_owner
from spendlimits.graphql.types.user import User

ERRORS = "Why nothing was done; empty on success."


@strawberry.input(description="A new user.")
class CreateUserInput:
    username: str = strawberry.field(
        description=("Unique among live users, case-insensitively: 1 to 64 letters, digits, '.', '_' or '-'.")
    )
    name: str | None = strawberry.field(default=None, description="Full name; default empty.")
    email: str | None = strawberry.field(default=None, description="Email address, if known.")
    avatar_url: str | None = strawberry.field(default=None, description="Picture URL; default empty.")
    role: Role | None = strawberry.field(
        default=Role.MEMBER, description="Deployment-wide role; null means MEMBER."
    )
    is_system: bool | None = strawberry.field(
        default=False, description="A system account: not counted as a group member. Null means false."
    )
    organization_ids: list[strawberry.ID] | None = strawberry.field(
        default_factory=list,
        description="Organizations the user joins. An unknown one fails the whole call: no user is created.",
    )


@strawberry.type(description="The result of createUser.")
class CreateUserPayload:
    user: User | None = strawberry.field(description="The new user; null on error.")
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.input(description="The user to delete.")
class DeleteUserInput:
    user_id: strawberry.ID = strawberry.field(description="The user.")


@strawberry.input(description="Changes to a live user; a field left out keeps its value.")
class UpdateUserInput:
    user_id: strawberry.ID = strawberry.field(description="The user.")
    role: Role | None = strawberry.field(
        default=None,
        description="The new deployment-wide role; null keeps it. The last live owner cannot be demoted.",
    )
    name: str | None = strawberry.field(
        default=None, description="Full name; null keeps it, empty clears it."
    )
    email: str | None = strawberry.field(
        default=strawberry.UNSET, description="Email address; left out keeps it, null clears it."
    )
    avatar_url: str | None = strawberry.field(
        default=None, description="Picture URL; null keeps it, empty clears it."
    )


@strawberry.type(description="The result of updateUser.")
class UpdateUserPayload:
    user: User | None = strawberry.field(description="The user after the change; null on error.")
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.type(description="The result of deleteUser.")
class DeleteUserPayload:
    user: User | None = strawberry.field(description="The deleted user (deleted: true); null on error.")
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.type
class UserMutation:
    @strawberry.mutation(description="Creates a user, optionally in some organizations. OWNER only.")
    async def create_user(
        self, info: Info, input: Annotated[CreateUserInput, strawberry.argument(description="The user.")]
    ) -> CreateUserPayload:
        require_owner(info.context.principal)
        organization_ids = [
            parse_id(value, f"organizationIds[{index}]")
            for index, value in enumerate(input.organization_ids or [])
        ]

        async def create(conn: AsyncConnection) -> users.User:
            user = await users.create_user(
                conn,
                username=input.username,
                role=input.role or Role.MEMBER,
                name=input.name or "",
                email=input.email,
                avatar_url=input.avatar_url or "",
                is_system=bool(input.is_system),
            )
            await members.join_organizations(conn, user.id, organization_ids, ["input", "organizationIds"])
            return user

        outcome = await in_transaction(info, create)
        return CreateUserPayload(
            user=User(domain=outcome.value) if outcome.value else None, errors=outcome.errors
        )

    @strawberry.mutation(
        description=(
            "Changes a live user's role, name, email or picture. The last live owner cannot be "
            "demoted (LAST_OWNER). OWNER only."
        )
    )
    async def update_user(
        self, info: Info, input: Annotated[UpdateUserInput, strawberry.argument(description="The change.")]
    ) -> UpdateUserPayload:
        require_owner(info.context.principal)
        user_id = parse_id(input.user_id, "userId")
        set_email = input.email is not strawberry.UNSET
        outcome = await in_transaction(
            info,
            lambda conn: users.update_user(
                conn,
                user_id,
                role=input.role,
                name=input.name,
                email=input.email if set_email else None,
                set_email=set_email,
                avatar_url=input.avatar_url,
            ),
        )
        return UpdateUserPayload(
            user=User(domain=outcome.value) if outcome.value else None, errors=outcome.errors
        )

    @strawberry.mutation(
        description=(
            "Soft delete: the user keeps their chats and spend history but leaves every organization "
            "and group, loses their spend-limit override, and their API tokens are revoked. Their "
            "username becomes free again. Deleting a deleted user changes nothing. The last live "
            "owner cannot be deleted (LAST_OWNER). OWNER only."
        )
    )
    async def delete_user(
        self, info: Info, input: Annotated[DeleteUserInput, strawberry.argument(description="The user.")]
    ) -> DeleteUserPayload:
        require_owner(info.context.principal)
        user_id = parse_id(input.user_id, "userId")
        outcome = await in_transaction(info, lambda conn: users.delete_user(conn, user_id))
        return DeleteUserPayload(
            user=User(domain=outcome.value) if outcome.value else None, errors=outcome.errors
        )
