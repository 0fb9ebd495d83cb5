"""Changing limits: the configuration and the user and group overrides. OWNER only.

Each mutation runs in one transaction. An expected failure (a DomainError) rolls it back and comes
back as ``errors`` with the result null, so nothing is written.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import strawberry
from sqlalchemy.ext.asyncio import AsyncConnection

from spendlimits.graphql.context import Info
from spendlimits.graphql.errors import UserError, parse_id
from spendlimits.graphql.mutations.transaction import in_transaction
from spendlimits.graphql.permissions import require_owner
from spendlimits.graphql.scalars import Micros
from spendlimits.graphql.types.enums import EnforcementMode, Period
from spendlimits.graphql.types.limit_config import (
    ChatUsageLimitConfig,
    ChatUsageLimitGroupOverride,
    ChatUsageLimitOverride,
)
from spendlimits.insight import audit
from spendlimits.limits import config, overrides

T = TypeVar("T")

Errors = Annotated[
    list[UserError], strawberry.field(description="Why nothing was changed; empty on success.")
]


@strawberry.input(
    description=(
        "Changes to the configuration. A field left out keeps its stored value (a behaviour change: "
        "an omitted spendLimitMicros used to switch limits off); spendLimitMicros: null, given "
        "explicitly, switches limits off."
    )
)
class UpdateChatUsageLimitConfigInput:
    spend_limit_micros: Micros | None = strawberry.field(
        default=strawberry.UNSET,
        description=(
            "The default limit per user per period, > 0, and then period is required too. Explicit "
            "null switches limits off (overrides, the stored period and amount are kept). Omitted: "
            "unchanged."
        ),
    )
    period: Period | None = strawberry.field(
        default=None,
        description="Required with a spendLimitMicros; alone it changes the period. Omitted: unchanged.",
    )
    enforcement_mode: EnforcementMode | None = strawberry.field(
        default=None,
        description="What a check or reserve does when it cannot be evaluated; omitted: unchanged.",
    )
    reservation_ttl_seconds: int | None = strawberry.field(
        default=None,
        description="How long an unsettled reservation holds budget, 1 to 86400 seconds; omitted: unchanged.",
    )
    warning_thresholds_percent: list[int] | None = strawberry.field(
        default=None,
        description="1 to 99 each, at most 5, no duplicates; stored ascending. Omitted: unchanged.",
    )


@strawberry.type(description="The result of updateChatUsageLimitConfig.")
class UpdateChatUsageLimitConfigPayload:
    config: ChatUsageLimitConfig | None = strawberry.field(
        description="The stored configuration; null on errors."
    )
    errors: Errors


@strawberry.input(description="A user's override.")
class UpsertChatUsageLimitOverrideInput:
    user_id: strawberry.ID = strawberry.field(description="The user; deleted users cannot have one.")
    # Optional in the schema (the contract says Micros!; relaxing an input is compatible) so that a
    # missing value is reported like a zero one, as INVALID_SPEND_LIMIT (spec section 11).
    spend_limit_micros: Micros | None = strawberry.field(
        default=None, description="The user's limit per period; required, > 0."
    )


@strawberry.type(description="The result of upsertChatUsageLimitOverride.")
class UpsertChatUsageLimitOverridePayload:
    override: ChatUsageLimitOverride | None = strawberry.field(
        description="The stored override; null on errors."
    )
    errors: Errors


@strawberry.input(description="Whose override to remove.")
class DeleteChatUsageLimitOverrideInput:
    user_id: strawberry.ID = strawberry.field(description="The user whose override to remove.")


@strawberry.type(description="The result of deleteChatUsageLimitOverride.")
class DeleteChatUsageLimitOverridePayload:
    deleted_user_id: strawberry.ID | None = strawberry.field(
        description="Id of the user whose override was removed."
    )
    errors: Errors


@strawberry.input(description="A group's override.")
class UpsertChatUsageLimitGroupOverrideInput:
    group_id: strawberry.ID = strawberry.field(description="The group; an Everyone group is allowed.")
    spend_limit_micros: Micros | None = strawberry.field(
        default=None, description="The group's limit per period; required, > 0."
    )


@strawberry.type(description="The result of upsertChatUsageLimitGroupOverride.")
class UpsertChatUsageLimitGroupOverridePayload:
    group_override: ChatUsageLimitGroupOverride | None = strawberry.field(
        description="The stored group override; null on errors."
    )
    errors: Errors


@strawberry.input(description="Which group's override to remove.")
class DeleteChatUsageLimitGroupOverrideInput:
    group_id: strawberry.ID = strawberry.field(description="The group whose override to remove.")


@strawberry.type(description="The result of deleteChatUsageLimitGroupOverride.")
class DeleteChatUsageLimitGroupOverridePayload:
    deleted_group_id: strawberry.ID | None = strawberry.field(
        description="Id of the group whose override was removed."
    )
    errors: Errors


def as_caller(
    info: Info, work: Callable[[AsyncConnection], Awaitable[T]]
) -> Callable[[AsyncConnection], Awaitable[T]]:
    """``work`` preceded by naming the caller as the actor the audit log records."""

    async def run(conn: AsyncConnection) -> T:
        await audit.set_actor(conn, info.context.principal)
        return await work(conn)

    return run


def _id(value: object | None) -> strawberry.ID | None:
    return None if value is None else strawberry.ID(str(value))


@strawberry.type
class LimitsMutation:
    @strawberry.mutation(
        description=(
            "Changes what the input mentions and keeps the rest (an omitted spendLimitMicros no "
            "longer switches limits off). spendLimitMicros: null switches limits off, keeping the "
            "stored period unless one is given; a non-null one must be > 0 and needs period "
            "(INVALID_PERIOD). Every committed change is recorded in chatUsageLimitChanges. OWNER."
        )
    )
    async def update_chat_usage_limit_config(
        self,
        info: Info,
        input: Annotated[UpdateChatUsageLimitConfigInput, strawberry.argument(description="The change.")],
    ) -> UpdateChatUsageLimitConfigPayload:
        require_owner(info.context.principal)
        limit = config.UNCHANGED if input.spend_limit_micros is strawberry.UNSET else input.spend_limit_micros
        outcome = await in_transaction(
            info,
            as_caller(
                info,
                lambda conn: config.update_config(
                    conn,
                    spend_limit_micros=limit,
                    period=input.period,
                    enforcement_mode=input.enforcement_mode,
                    reservation_ttl_seconds=input.reservation_ttl_seconds,
                    warning_thresholds_percent=input.warning_thresholds_percent,
                ),
            ),
        )
        return UpdateChatUsageLimitConfigPayload(
            config=None if outcome.value is None else ChatUsageLimitConfig(domain=outcome.value),
            errors=outcome.errors,
        )

    @strawberry.mutation(
        description="Sets (or replaces) a user's override; spendLimitMicros must be > 0. OWNER."
    )
    async def upsert_chat_usage_limit_override(
        self,
        info: Info,
        input: Annotated[
            UpsertChatUsageLimitOverrideInput, strawberry.argument(description="The user and their limit.")
        ],
    ) -> UpsertChatUsageLimitOverridePayload:
        require_owner(info.context.principal)
        user_id = parse_id(input.user_id, "userId")
        outcome = await in_transaction(
            info,
            as_caller(
                info, lambda conn: overrides.upsert_user_override(conn, user_id, input.spend_limit_micros)
            ),
        )
        return UpsertChatUsageLimitOverridePayload(
            override=None if outcome.value is None else ChatUsageLimitOverride(domain=outcome.value),
            errors=outcome.errors,
        )

    @strawberry.mutation(
        description="Removes a user's override: the user falls back to group limits or the default. OWNER."
    )
    async def delete_chat_usage_limit_override(
        self,
        info: Info,
        input: Annotated[DeleteChatUsageLimitOverrideInput, strawberry.argument(description="The user.")],
    ) -> DeleteChatUsageLimitOverridePayload:
        require_owner(info.context.principal)
        user_id = parse_id(input.user_id, "userId")
        outcome = await in_transaction(
            info, as_caller(info, lambda conn: overrides.delete_user_override(conn, user_id))
        )
        return DeleteChatUsageLimitOverridePayload(deleted_user_id=_id(outcome.value), errors=outcome.errors)

    @strawberry.mutation(
        description="Sets (or replaces) a group's override; spendLimitMicros must be > 0. OWNER."
    )
    async def upsert_chat_usage_limit_group_override(
        self,
        info: Info,
        input: Annotated[
            UpsertChatUsageLimitGroupOverrideInput,
            strawberry.argument(description="The group and its limit."),
        ],
    ) -> UpsertChatUsageLimitGroupOverridePayload:
        require_owner(info.context.principal)
        group_id = parse_id(input.group_id, "groupId")
        outcome = await in_transaction(
            info,
            as_caller(
                info, lambda conn: overrides.upsert_group_override(conn, group_id, input.spend_limit_micros)
            ),
        )
        return UpsertChatUsageLimitGroupOverridePayload(
            group_override=None
            if outcome.value is None
            else ChatUsageLimitGroupOverride(domain=outcome.value),
            errors=outcome.errors,
        )

    @strawberry.mutation(description="Removes a group's override. OWNER.")
    async def delete_chat_usage_limit_group_override(
        self,
        info: Info,
        input: Annotated[
            DeleteChatUsageLimitGroupOverrideInput, strawberry.argument(description="The group.")
        ],
    ) -> DeleteChatUsageLimitGroupOverridePayload:
        require_owner(info.context.principal)
        group_id = parse_id(input.group_id, "groupId")
        outcome = await in_transaction(
            info, as_caller(info, lambda conn: overrides.delete_group_override(conn, group_id))
        )
        return DeleteChatUsageLimitGroupOverridePayload(
            deleted_group_id=_id(outcome.value), errors=outcome.errors
        )
