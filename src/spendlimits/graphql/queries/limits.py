"""Reading limits: the admin configuration, the caller's own status, and the daemon's admission check."""

from datetime import datetime
from typing import Annotated

import strawberry

from spendlimits.errors import NotFound
from spendlimits.graphql.context import Info
from spendlimits.graphql.errors import NotFoundError, parse_id
from spendlimits.graphql.permissions import require_checker, require_config_reader, require_signed_in_user
from spendlimits.graphql.types.limit_config import ChatUsageLimitConfig
from spendlimits.graphql.types.limit_status import (
    AT_DESCRIPTION,
    ChatUsageLimitCheck,
    ChatUsageLimitStatus,
    parse_scope,
)
from spendlimits.limits.check import check
from spendlimits.limits.config import get_config
from spendlimits.metrics import record_check_result

OrganizationArgument = Annotated[
    strawberry.ID | None,
    strawberry.argument(
        description=(
            "Scopes group limits (and, when a group limit wins, spend) to one organization; omitted "
            "means all organizations."
        )
    ),
]


@strawberry.type
class LimitsQuery:
    @strawberry.field(description="Deployment-wide limit configuration. OWNER, AUDITOR, CHATD.")
    async def chat_usage_limit_config(self, info: Info) -> ChatUsageLimitConfig:
        require_config_reader(info.context.principal)
        async with info.context.engine.connect() as conn:
            return ChatUsageLimitConfig(domain=await get_config(conn))

    @strawberry.field(
        description=(
            "The caller's own usage-limit status. Any signed-in user (service tokens have no user). "
            "organizationId scopes group limits (and, when a group limit wins, spend) to one "
            "organization; omitted means all organizations. at picks the period that contains that "
            "instant (default: now), evaluated against the limits in force now."
        )
    )
    async def my_chat_usage_limit_status(
        self,
        info: Info,
        organization_id: OrganizationArgument = None,
        at: Annotated[
            datetime | None,
            strawberry.argument(description=AT_DESCRIPTION),
        ] = None,
    ) -> ChatUsageLimitStatus:
        user_id = require_signed_in_user(info.context.principal)
        organization, instant = parse_scope(organization_id, at)
        found = await info.context.loaders.limit_status.load((user_id, organization, instant))
        if found is None:
            raise NotFoundError("User not found.")
        return ChatUsageLimitStatus(domain=found)

    @strawberry.field(
        description=(
            "Admission check before LLM work on behalf of a chat owner (create chat, send or edit a "
            "message, compaction, title generation, sub-agent). CHATD service or OWNER. Blocks when "
            "spend >= limit. When the check cannot be evaluated it allows the work and says so in "
            "failedOpen. An unknown user is a NOT_FOUND error."
        )
    )
    async def chat_usage_limit_check(
        self,
        info: Info,
        user_id: Annotated[strawberry.ID, strawberry.argument(description="The chat owner doing the work.")],
        organization_id: OrganizationArgument = None,
    ) -> ChatUsageLimitCheck:
        require_checker(info.context.principal)
        user, organization = parse_id(user_id, "userId"), parse_scope(organization_id)[0]
        try:
            result = await check(
                info.context.engine,
                user,
                organization,
                timeout_seconds=info.context.decision_budget(),
            )
        except NotFound as exc:
            raise NotFoundError(exc.message) from None
        record_check_result(result)
        return ChatUsageLimitCheck(domain=result)
