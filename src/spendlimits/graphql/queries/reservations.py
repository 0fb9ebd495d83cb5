"""Reading one reservation: whoever may read its user (OWNER, AUDITOR, CHATD; a MEMBER their own)."""

from typing import Annotated

import strawberry

from spendlimits.graphql.context import Info
from spendlimits.graphql.errors import parse_id
from spendlimits.graphql.permissions import require_user_reader
from spendlimits.graphql.types.reservation import ChatSpendReservation
from spendlimits.limits.reservations import get_reservations


@strawberry.type
class ReservationsQuery:
    @strawberry.field(
        description=(
            "A spend reservation by id; null when unknown. OWNER, AUDITOR, CHATD: any; MEMBER: their own."
        )
    )
    async def reservation(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The reservation's id.")],
    ) -> ChatSpendReservation | None:
        reservation_id = parse_id(id)
        async with info.context.engine.connect() as conn:
            found = (await get_reservations(conn, [reservation_id])).get(reservation_id)
        if found is None:
            return None
        require_user_reader(info.context.principal, found.user_id)
        return ChatSpendReservation(domain=found)
