"""The caller's own user."""

import strawberry

from spendlimits.graphql.context import Info
from spendlimits.graphql.types.user import User


@strawberry.type
class ViewerQuery:
    @strawberry.field(description="The user the request's token belongs to; null for a service token.")
    async def viewer(self, info: Info) -> User | None:
        user_id = info.context.principal.user_id
        if user_id is None:
            return None
        user = await info.context.loaders.user.load(user_id)
        return User(domain=user) if user else None
