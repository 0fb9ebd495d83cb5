"""API tokens: OWNER only. The secret is returned once, by createApiToken."""

from typing import Annotated

import strawberry

from spendlimits.auth import tokens
from spendlimits.auth.principal import Service
from spendlimits.graphql.context import Info
from spendlimits.graphql.errors import UserError, parse_id
from spendlimits.graphql.mutations.transaction import in_transaction
from spendlimits.graphql.permissions import require_owner
from spendlimits.graphql.types.api_token import ApiToken

ERRORS = "Why nothing was done; empty on success."


@strawberry.input(description="Exactly one of userId and service.")
class CreateApiTokenInput:
    name: str = strawberry.field(description="A label, 1 to 128 characters, e.g. where the token is used.")
    user_id: strawberry.ID | None = strawberry.field(
        default=None, description="The live user the token acts for, with that user's role."
    )
    service: Service | None = strawberry.field(
        default=None, description="The service account the token acts for."
    )


@strawberry.type(description="The result of createApiToken.")
class CreateApiTokenPayload:
    token: str | None = strawberry.field(
        description='The secret, shown only here; send it as "Authorization: Bearer <token>".'
    )
    api_token: ApiToken | None = strawberry.field(description="The token's metadata; null on error.")
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.input(description="The token to revoke.")
class RevokeApiTokenInput:
    token_id: strawberry.ID = strawberry.field(description="The token's id (not its secret).")


@strawberry.type(description="The result of revokeApiToken.")
class RevokeApiTokenPayload:
    revoked_token_id: strawberry.ID | None = strawberry.field(
        description="Id of the revoked token; null on error."
    )
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.type
class ApiTokenMutation:
    @strawberry.mutation(
        description=(
            "Creates a token for a user or a service account and returns its secret, which is "
            "stored only as a hash and never shown again. OWNER only."
        )
    )
    async def create_api_token(
        self, info: Info, input: Annotated[CreateApiTokenInput, strawberry.argument(description="The token.")]
    ) -> CreateApiTokenPayload:
        require_owner(info.context.principal)
        user_id = parse_id(input.user_id, "userId") if input.user_id is not None else None
        outcome = await in_transaction(
            info,
            lambda conn: tokens.create_token(conn, name=input.name, user_id=user_id, service=input.service),
        )
        if outcome.value is None:
            return CreateApiTokenPayload(token=None, api_token=None, errors=outcome.errors)
        return CreateApiTokenPayload(
            token=outcome.value.secret, api_token=ApiToken(domain=outcome.value.token), errors=[]
        )

    @strawberry.mutation(
        description=(
            "Revokes a token: it is refused from the next request on. Revoking twice changes nothing. "
            "OWNER only."
        )
    )
    async def revoke_api_token(
        self, info: Info, input: Annotated[RevokeApiTokenInput, strawberry.argument(description="The token.")]
    ) -> RevokeApiTokenPayload:
        require_owner(info.context.principal)
        token_id = parse_id(input.token_id, "tokenId")
        outcome = await in_transaction(info, lambda conn: tokens.revoke_token(conn, token_id))
        return RevokeApiTokenPayload(
            revoked_token_id=strawberry.ID(str(outcome.value.id)) if outcome.value else None,
            errors=outcome.errors,
        )
