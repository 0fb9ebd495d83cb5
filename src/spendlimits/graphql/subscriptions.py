"""Subscription.myChatUsageLimitStatus: the caller's status, pushed as it changes (docs/live-status.md).

Served only over graphql-transport-ws (spendlimits.live.socket), whose connections carry a
LiveContext: the request context plus this process's hub.
"""

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any

import strawberry

from spendlimits.graphql.context import Context, Info
from spendlimits.graphql.errors import ApiError, NotFoundError
from spendlimits.graphql.permissions import require_signed_in_user
from spendlimits.graphql.queries.limits import OrganizationArgument
from spendlimits.graphql.types.limit_status import ChatUsageLimitStatus, parse_scope
from spendlimits.live.hub import Hub, UserNotFound


@dataclass(slots=True)
class LiveContext(Context):
    """The context of a WebSocket connection: its principal is set by connection_init."""

    hub: Hub | None = None
    #: The connection_init payload (Strawberry puts it here).
    connection_params: dict[str, Any] = field(default_factory=dict)


class WebSocketOnly(ApiError):
    code = "BAD_REQUEST"


@strawberry.type(description="What a client can follow live over graphql-transport-ws on /graphql.")
class Subscription:
    @strawberry.subscription(
        description=(
            "The viewer's status, pushed first at once and then whenever their spend, holds, limit "
            "or period changes (from any server process), at most a few times a second. "
            "graphql-transport-ws on /graphql, authenticated by the connection_init payload "
            '{"Authorization": "Bearer ..."}. Any signed-in user (service tokens have no user). '
            "organizationId scopes group limits (and, when a group limit wins, spend) as in "
            "myChatUsageLimitStatus."
        )
    )
    async def my_chat_usage_limit_status(
        self, info: Info, organization_id: OrganizationArgument = None
    ) -> AsyncGenerator[ChatUsageLimitStatus, None]:
        user_id = require_signed_in_user(info.context.principal)
        organization, _ = parse_scope(organization_id)
        hub = getattr(info.context, "hub", None)
        if not isinstance(hub, Hub):
            raise WebSocketOnly("Subscriptions are served over graphql-transport-ws (WebSocket) on /graphql.")
        try:
            async with hub.subscribe(user_id, organization) as feed:
                async for status in feed:
                    yield ChatUsageLimitStatus(domain=status)
        except UserNotFound:
            raise NotFoundError("User not found.") from None
