"""Listing API tokens: OWNER only, metadata only (a secret is shown once, by createApiToken)."""

from typing import Annotated

import strawberry

from spendlimits.auth.tokens import list_tokens
from spendlimits.graphql.context import Info
from spendlimits.graphql.errors import parse_id
from spendlimits.graphql.pagination import page_request
from spendlimits.graphql.permissions import require_owner
from spendlimits.graphql.types.api_token import ApiTokenConnection


@strawberry.type
class ApiTokensQuery:
    @strawberry.field(
        description=(
            "API tokens, newest first, revoked ones included unless asked otherwise: name, the user "
            "or service it acts for, when it was created, last used and revoked. Never the secret. "
            "OWNER only."
        )
    )
    async def api_tokens(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description="Page size, 1 to 500.")] = 50,
        after: Annotated[
            str | None, strawberry.argument(description="The endCursor of the previous page.")
        ] = None,
        include_revoked: Annotated[
            bool, strawberry.argument(description="Also list revoked tokens (default: true).")
        ] = True,
        user_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only the tokens acting for this user; omitted means all."),
        ] = None,
    ) -> ApiTokenConnection:
        user = None if user_id is None else parse_id(user_id, "userId")
        require_owner(info.context.principal)
        request = page_request(first, after)
        async with info.context.engine.connect() as conn:
            page = await list_tokens(
                conn,
                limit=request.limit,
                offset=request.offset,
                include_revoked=include_revoked,
                user_id=user,
            )
        return ApiTokenConnection.build(request, page.items, page.total_count)
