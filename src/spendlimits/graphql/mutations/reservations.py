"""Strict enforcement: reserve an estimate before an LLM call, settle or release it after.

CHATD or OWNER. reserveChatSpend is one SQL call under the check's deadline (a decision that cannot
be evaluated answers per the enforcement mode); release is one statement; settle is one SQL call
(``spendlimits_settle``); each runs in autocommit, one round trip after the token's, and an expected
failure writes nothing.
"""

from typing import Annotated

import strawberry

from spendlimits.errors import DomainError
from spendlimits.graphql.context import Info
from spendlimits.graphql.errors import UserError, parse_id
from spendlimits.graphql.flat_inputs import build_from_coerced
from spendlimits.graphql.mutations.messages import RecordChatMessageInput
from spendlimits.graphql.permissions import require_usage_writer
from spendlimits.graphql.scalars import Micros
from spendlimits.graphql.types.chat_message import ChatMessage
from spendlimits.graphql.types.limit_status import ChatUsageLimitCheck
from spendlimits.graphql.types.reservation import ChatSpendReservation
from spendlimits.limits import reservations

ERRORS = "Why nothing was done; empty on success."


@strawberry.input(description="Budget to hold for one LLM call.")
class ReserveChatSpendInput:
    user_id: strawberry.ID = strawberry.field(description="The chat owner whose budget is held.")
    organization_id: strawberry.ID | None = strawberry.field(
        default=None,
        description=(
            "The organization of the work, as for chatUsageLimitCheck: it scopes group limits and "
            "the settled message must be in it. Omitted: all organizations."
        ),
    )
    chat_id: strawberry.ID | None = strawberry.field(
        default=None, description="The chat the call is for; one of the user's chats."
    )
    estimate_micros: Micros = strawberry.field(
        description="The most the call may cost, >= 0: the guarantee needs the actual cost to stay within it."
    )
    ttl_seconds: int | None = strawberry.field(
        default=None, description="Default: the configured reservationTtlSeconds. 1 to 86400."
    )
    idempotency_key: str | None = strawberry.field(
        default=None,
        description=(
            "1 to 255 characters, unique per user. A retry with the same key and input returns the "
            "same reservation; the same key with other input is IDEMPOTENCY_CONFLICT."
        ),
    )


# The daemon's hot path: no per-request conversion of what graphql-core has already parsed.
build_from_coerced(ReserveChatSpendInput)


@strawberry.type(description="The result of reserveChatSpend.")
class ReserveChatSpendPayload:
    reservation: ChatSpendReservation | None = strawberry.field(
        description="The hold; null when not admitted (or when the decision could not be evaluated)."
    )
    check: ChatUsageLimitCheck | None = strawberry.field(
        description=(
            "The admission decision; exceeded is set when refused for the limit. failedOpen or "
            "failedClosed when it could not be evaluated. Null on errors."
        )
    )
    replayed: bool = strawberry.field(
        description="True when an earlier reservation with the same idempotencyKey was returned."
    )
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.input(description="The call's actual cost, recorded against a reservation.")
class SettleChatSpendInput:
    reservation_id: strawberry.ID = strawberry.field(description="The reservation to settle.")
    message: RecordChatMessageInput = strawberry.field(
        description=(
            "The message as recordChatMessage takes it; its chat must belong to the reservation's "
            "user (and organization, when the reservation has one)."
        )
    )


@strawberry.type(description="The result of settleChatSpend.")
class SettleChatSpendPayload:
    reservation: ChatSpendReservation | None = strawberry.field(
        description="The reservation, now SETTLED; null on errors."
    )
    message: ChatMessage | None = strawberry.field(description="The recorded message; null on errors.")
    replayed: bool = strawberry.field(
        description="True when the message had been recorded before (a retried settle): nothing was added."
    )
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.input(description="A hold to end without a cost.")
class ReleaseChatSpendInput:
    reservation_id: strawberry.ID = strawberry.field(description="The reservation to release.")


build_from_coerced(ReleaseChatSpendInput)


@strawberry.type(description="The result of releaseChatSpend.")
class ReleaseChatSpendPayload:
    reservation: ChatSpendReservation | None = strawberry.field(
        description="The reservation, now RELEASED; null on errors."
    )
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.type
class ReservationsMutation:
    @strawberry.mutation(
        description=(
            "Admits and holds estimateMicros atomically: admitted when spend + live holds + "
            "estimateMicros <= limit (always admitted when unlimited). CHATD service or OWNER. "
            "Same idempotencyKey, same input: the same reservation."
        )
    )
    async def reserve_chat_spend(
        self,
        info: Info,
        input: Annotated[ReserveChatSpendInput, strawberry.argument(description="What to hold.")],
    ) -> ReserveChatSpendPayload:
        require_usage_writer(info.context.principal)
        request = reservations.ReserveRequest(
            user_id=parse_id(input.user_id, "userId"),
            organization_id=parse_id(input.organization_id, "organizationId")
            if input.organization_id is not None
            else None,
            chat_id=parse_id(input.chat_id, "chatId") if input.chat_id is not None else None,
            estimate_micros=input.estimate_micros,
            ttl_seconds=input.ttl_seconds,
            idempotency_key=input.idempotency_key,
        )
        try:
            reserved = await reservations.reserve(
                info.context.engine, request, timeout_seconds=info.context.decision_budget()
            )
        except DomainError as error:
            return ReserveChatSpendPayload(
                reservation=None, check=None, replayed=False, errors=[UserError.from_domain(error)]
            )
        return ReserveChatSpendPayload(
            reservation=ChatSpendReservation(domain=reserved.reservation) if reserved.reservation else None,
            check=ChatUsageLimitCheck(domain=reserved.check),
            replayed=reserved.replayed,
            errors=[],
        )

    @strawberry.mutation(
        description=(
            "Records the call's message with its actual cost and ends the hold, in one transaction, "
            "exactly once: settling again returns the same message with replayed = true. Settling "
            "an EXPIRED reservation still records the cost (the money was spent); a RELEASED one is "
            "RESERVATION_NOT_HELD. No limit is checked. CHATD service or OWNER."
        )
    )
    async def settle_chat_spend(
        self,
        info: Info,
        input: Annotated[SettleChatSpendInput, strawberry.argument(description="What the call cost.")],
    ) -> SettleChatSpendPayload:
        require_usage_writer(info.context.principal)
        reservation_id = parse_id(input.reservation_id, "reservationId")
        message = input.message.to_domain()
        try:
            # One call, atomic by itself: autocommit spares the BEGIN and COMMIT round trips.
            async with info.context.engine.connect() as conn:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                settled = await reservations.settle(conn, reservation_id, message)
        except DomainError as error:
            return SettleChatSpendPayload(
                reservation=None, message=None, replayed=False, errors=[UserError.from_domain(error)]
            )
        return SettleChatSpendPayload(
            reservation=ChatSpendReservation(domain=settled.reservation),
            message=ChatMessage(domain=settled.message),
            replayed=settled.replayed,
            errors=[],
        )

    @strawberry.mutation(
        description=(
            "Ends the hold without recording a cost (the call never ran). Anything but a live HELD "
            "reservation is RESERVATION_NOT_HELD. CHATD service or OWNER."
        )
    )
    async def release_chat_spend(
        self,
        info: Info,
        input: Annotated[ReleaseChatSpendInput, strawberry.argument(description="What to release.")],
    ) -> ReleaseChatSpendPayload:
        require_usage_writer(info.context.principal)
        reservation_id = parse_id(input.reservation_id, "reservationId")
        try:
            # One statement: autocommit spares the BEGIN and COMMIT round trips.
            async with info.context.engine.connect() as conn:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                released = await reservations.release(conn, reservation_id)
        except DomainError as error:
            return ReleaseChatSpendPayload(reservation=None, errors=[UserError.from_domain(error)])
        return ReleaseChatSpendPayload(reservation=ChatSpendReservation(domain=released), errors=[])
