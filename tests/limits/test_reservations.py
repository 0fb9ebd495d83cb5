"""Reservations (docs/design.md), called directly: admission with holds, settle exactly once, release,
expiry without any background job, and holds in the status.

Every call passes an explicit ``now`` so that expiry is tested by moving time, never by sleeping.
"""

import asyncio
import uuid
from collections.abc import Awaitable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.directory.ingest import NewMessage
from spendlimits.directory.messages import MessageRole
from spendlimits.errors import DomainError
from spendlimits.limits.check import EXCEEDED_MESSAGE
from spendlimits.limits.periods import Period
from spendlimits.limits.reservations import (
    Reservation,
    ReservationState,
    Reserved,
    ReserveRequest,
    Settled,
    get_reservations,
    release,
    reserve,
    settle,
)
from spendlimits.limits.status import Status, statuses
from tests.limits.factories import LimitFactory

NOW = datetime(2025, 6, 15, 12, tzinfo=UTC)
TIMEOUT = 5.0


@pytest.fixture
def make(engine: AsyncEngine) -> LimitFactory:
    return LimitFactory(engine)


class Scene:
    """A user limited to 100 micros a day, with a chat in organization ``org``."""

    def __init__(self, engine: AsyncEngine, user: uuid.UUID, org: uuid.UUID, chat: uuid.UUID) -> None:
        self.engine, self.user, self.org, self.chat = engine, user, org, chat

    def request(self, estimate: int, **fields: Any) -> ReserveRequest:
        return replace(ReserveRequest(user_id=self.user, estimate_micros=estimate), **fields)

    async def reserve(self, estimate: int, now: datetime = NOW, **fields: Any) -> Reserved:
        return await reserve(self.engine, self.request(estimate, **fields), timeout_seconds=TIMEOUT, now=now)

    async def held(self, estimate: int, now: datetime = NOW, **fields: Any) -> Reservation:
        reserved = await self.reserve(estimate, now, **fields)
        assert reserved.reservation is not None, reserved.check
        return reserved.reservation

    def message(self, cost: int, chat: uuid.UUID | None = None, key: str | None = None) -> NewMessage:
        return NewMessage(
            chat_id=chat or self.chat,
            role=MessageRole.ASSISTANT,
            total_cost_micros=cost,
            created_at=NOW,
            idempotency_key=key,
        )

    async def settle(self, reservation_id: uuid.UUID, message: NewMessage, now: datetime = NOW) -> Settled:
        # As the service runs it: one call in autocommit, on the driver path.
        async with self.engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            return await settle(conn, reservation_id, message, now=now)

    async def release(self, reservation_id: uuid.UUID, now: datetime = NOW) -> Reservation:
        async with self.engine.begin() as conn:
            return await release(conn, reservation_id, now=now)

    async def status(self, now: datetime = NOW, org: uuid.UUID | None = None) -> Status:
        key = (self.user, org, None)
        async with self.engine.connect() as conn:
            return (await statuses(conn, [key], now=now))[key]

    async def stored(self, reservation_id: uuid.UUID) -> Reservation:
        async with self.engine.connect() as conn:
            return (await get_reservations(conn, [reservation_id]))[reservation_id]


@pytest.fixture
async def scene(engine: AsyncEngine, make: LimitFactory) -> Scene:
    await make.enable(100, Period.DAY)
    org = await make.organization("acme")
    user = await make.user("alice", organizations=(org,))
    return Scene(engine, user, org, await make.chat(user, org))


async def count_rows(engine: AsyncEngine, table: str) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(text(f"SELECT count(*) FROM {table}")) or 0)


async def test_a_reservation_up_to_the_limit_is_admitted_and_held(scene: Scene) -> None:
    reserved = await scene.reserve(100)
    assert reserved.reservation is not None
    assert (reserved.check.allowed, reserved.check.exceeded) == (True, None)
    assert reserved.reservation.amount_micros == 100
    assert reserved.reservation.state_at(NOW) is ReservationState.HELD
    assert reserved.reservation.expires_at == NOW + timedelta(seconds=300)
    status = await scene.status()
    assert (status.spend_micros, status.held_micros, status.remaining_micros) == (0, 100, 0)


async def test_live_holds_count_so_the_next_reservation_is_refused_without_a_row(
    scene: Scene, engine: AsyncEngine
) -> None:
    await scene.held(60)
    refused = await scene.reserve(41)
    assert refused.reservation is None
    assert refused.check.allowed is False and refused.check.failed_closed is False
    assert refused.check.exceeded is not None
    assert refused.check.exceeded.message == EXCEEDED_MESSAGE
    assert (refused.check.exceeded.spent_micros, refused.check.exceeded.limit_micros) == (0, 100)
    assert refused.check.exceeded.resets_at == datetime(2025, 6, 16, tzinfo=UTC)
    assert await count_rows(engine, "chat_spend_reservations") == 1
    assert (await scene.reserve(40)).reservation is not None


async def test_spend_plus_holds_plus_estimate_decides(scene: Scene, make: LimitFactory) -> None:
    await make.message(scene.chat, 30, created_at=NOW)
    await scene.held(50)
    assert (await scene.reserve(21)).reservation is None
    assert (await scene.reserve(20)).reservation is not None


async def test_disabled_limits_admit_everything_and_still_record_the_hold(
    scene: Scene, make: LimitFactory
) -> None:
    await make.disable()
    reserved = await scene.reserve(10**12)
    assert reserved.reservation is not None and reserved.check.allowed
    settled = await scene.settle(reserved.reservation.id, scene.message(10**12))
    assert settled.reservation.stored_state is ReservationState.SETTLED


async def test_the_same_idempotency_key_and_input_return_the_same_reservation(scene: Scene) -> None:
    first = await scene.reserve(70, idempotency_key="call-1")
    again = await scene.reserve(70, idempotency_key="call-1")
    assert first.reservation is not None and again.reservation is not None
    assert again.reservation.id == first.reservation.id
    assert (first.replayed, again.replayed, again.check.allowed) == (False, True, True)
    assert (await scene.status()).held_micros == 70


async def test_the_same_idempotency_key_with_other_input_conflicts(scene: Scene) -> None:
    await scene.held(70, idempotency_key="call-1")
    with pytest.raises(DomainError) as raised:
        await scene.reserve(71, idempotency_key="call-1")
    assert (raised.value.code, raised.value.field) == ("IDEMPOTENCY_CONFLICT", ["input", "idempotencyKey"])


async def test_settle_records_the_actual_cost_and_frees_the_hold(scene: Scene) -> None:
    held = await scene.held(80)
    settled = await scene.settle(held.id, scene.message(55))
    assert settled.replayed is False
    assert settled.message.total_cost_micros == 55 and settled.message.chat_id == scene.chat
    assert settled.reservation.stored_state is ReservationState.SETTLED
    assert settled.reservation.message_id == settled.message.id
    status = await scene.status()
    assert (status.spend_micros, status.held_micros, status.remaining_micros) == (55, 0, 45)


async def test_settling_again_returns_the_same_message_replayed_and_counts_once(scene: Scene) -> None:
    held = await scene.held(80)
    first = await scene.settle(held.id, scene.message(55))
    again = await scene.settle(held.id, scene.message(55))
    assert (again.replayed, again.message.id) == (True, first.message.id)
    assert (await scene.status()).spend_micros == 55


async def test_concurrent_settle_retries_record_one_message(scene: Scene, engine: AsyncEngine) -> None:
    held = await scene.held(80)
    outcomes = await asyncio.gather(*(scene.settle(held.id, scene.message(55)) for _ in range(8)))
    assert len({o.message.id for o in outcomes}) == 1
    assert sorted(o.replayed for o in outcomes) == [False] + [True] * 7
    assert await count_rows(engine, "chat_messages") == 1
    assert (await scene.status()).spend_micros == 55


async def test_a_settled_reservation_refuses_a_different_message(scene: Scene) -> None:
    held = await scene.held(80)
    await scene.settle(held.id, scene.message(55))
    with pytest.raises(DomainError) as raised:
        await scene.settle(held.id, scene.message(60))
    assert raised.value.code == "IDEMPOTENCY_CONFLICT"
    assert (await scene.status()).spend_micros == 55


async def test_settle_keeps_the_messages_own_idempotency_key(scene: Scene) -> None:
    held = await scene.held(80)
    first = await scene.settle(held.id, scene.message(55, key="turn-7"))
    again = await scene.settle(held.id, scene.message(55, key="turn-7"))
    assert first.message.idempotency_key == "turn-7"
    assert (again.replayed, again.message.id) == (True, first.message.id)


async def test_settle_never_fails_because_the_user_is_now_over_the_limit(
    scene: Scene, make: LimitFactory
) -> None:
    held = await scene.held(50)
    await make.message(scene.chat, 100, created_at=NOW)
    settled = await scene.settle(held.id, scene.message(50))
    assert settled.reservation.stored_state is ReservationState.SETTLED
    assert (await scene.status()).spend_micros == 150


async def test_a_hold_stops_counting_at_expiry_without_any_job(scene: Scene) -> None:
    held = await scene.held(100, ttl_seconds=1)
    later = NOW + timedelta(seconds=1)
    assert (await scene.status(now=NOW + timedelta(milliseconds=999))).held_micros == 100
    assert (await scene.status(now=later)).held_micros == 0
    assert (await scene.stored(held.id)).state_at(later) is ReservationState.EXPIRED
    assert (await scene.reserve(100, now=later)).reservation is not None


async def test_a_hold_whose_expiry_was_set_in_the_past_by_sql_no_longer_counts(
    scene: Scene, engine: AsyncEngine
) -> None:
    held = await scene.held(100)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE chat_spend_reservations SET expires_at = created_at + interval '1 ms' WHERE id = :id"
            ),
            {"id": held.id},
        )
    assert (await scene.status(now=NOW + timedelta(seconds=1))).held_micros == 0


async def test_the_next_reservation_tidies_expired_holds_of_its_user(scene: Scene) -> None:
    held = await scene.held(100, ttl_seconds=1)
    await scene.held(10, now=NOW + timedelta(seconds=2))
    tidied = await scene.stored(held.id)
    assert tidied.stored_state is ReservationState.EXPIRED
    assert tidied.ended_at == held.expires_at


@pytest.mark.parametrize("tidied", [False, True], ids=["held-past-expiry", "marked-expired"])
async def test_settling_after_expiry_still_counts_the_cost(scene: Scene, tidied: bool) -> None:
    held = await scene.held(100, ttl_seconds=1)
    later = NOW + timedelta(seconds=5)
    if tidied:
        await scene.held(0, now=later)
    settled = await scene.settle(held.id, scene.message(70), now=later)
    assert settled.reservation.stored_state is ReservationState.SETTLED
    assert (await scene.status(now=later)).spend_micros == 70


async def test_release_ends_the_hold_without_a_cost(scene: Scene, engine: AsyncEngine) -> None:
    held = await scene.held(100)
    released = await scene.release(held.id)
    assert released.stored_state is ReservationState.RELEASED and released.ended_at == NOW
    status = await scene.status()
    assert (status.spend_micros, status.held_micros) == (0, 0)
    assert await count_rows(engine, "chat_messages") == 0


async def expect_error(code: str, work: Awaitable[object]) -> DomainError:
    with pytest.raises(DomainError) as raised:
        await work
    assert raised.value.code == code, raised.value.message
    return raised.value


async def test_release_of_a_reservation_that_is_not_held_is_refused(scene: Scene) -> None:
    released = await scene.held(10)
    await scene.release(released.id)
    settled = await scene.held(10)
    await scene.settle(settled.id, scene.message(5))
    expired = await scene.held(10, ttl_seconds=1)
    for reservation_id in (released.id, settled.id, expired.id):
        error = await expect_error(
            "RESERVATION_NOT_HELD", scene.release(reservation_id, now=NOW + timedelta(seconds=1))
        )
        assert error.field == ["input", "reservationId"]
    await expect_error("RESERVATION_NOT_FOUND", scene.release(uuid.uuid4()))


async def test_a_released_reservation_cannot_be_settled(scene: Scene, engine: AsyncEngine) -> None:
    held = await scene.held(10)
    await scene.release(held.id)
    await expect_error("RESERVATION_NOT_HELD", scene.settle(held.id, scene.message(5)))
    await expect_error("RESERVATION_NOT_FOUND", scene.settle(uuid.uuid4(), scene.message(5)))
    assert await count_rows(engine, "chat_messages") == 0


async def test_the_settled_message_must_be_in_a_chat_of_the_reservations_user_and_organization(
    scene: Scene, make: LimitFactory, engine: AsyncEngine
) -> None:
    bob = await make.user("bob", organizations=(scene.org,))
    other_org = await make.organization("other")
    await make.join(other_org, scene.user)
    held = await scene.held(10, organization_id=scene.org)
    bobs_chat = await make.chat(bob, scene.org)
    elsewhere = await make.chat(scene.user, other_org)
    for chat in (bobs_chat, elsewhere):
        error = await expect_error("INVALID_INPUT", scene.settle(held.id, scene.message(5, chat=chat)))
        assert error.field == ["input", "message", "chatId"]
    error = await expect_error("CHAT_NOT_FOUND", scene.settle(held.id, scene.message(5, chat=uuid.uuid4())))
    assert error.field == ["input", "message", "chatId"]
    assert await count_rows(engine, "chat_messages") == 0
    assert (await scene.stored(held.id)).stored_state is ReservationState.HELD


async def test_record_message_errors_point_into_the_settle_input(scene: Scene) -> None:
    held = await scene.held(10)
    error = await expect_error("INVALID_INPUT", scene.settle(held.id, scene.message(5, key="")))
    assert error.field == ["input", "message", "idempotencyKey"]


async def test_reserve_validates_its_input(scene: Scene, make: LimitFactory) -> None:
    stranger = await make.user("stranger")
    strangers_chat = await make.chat(stranger, scene.org)
    cases: list[tuple[str, list[str], ReserveRequest]] = [
        ("INVALID_INPUT", ["input", "estimateMicros"], scene.request(-1)),
        ("INVALID_INPUT", ["input", "ttlSeconds"], scene.request(1, ttl_seconds=0)),
        ("INVALID_INPUT", ["input", "ttlSeconds"], scene.request(1, ttl_seconds=86_401)),
        ("INVALID_INPUT", ["input", "idempotencyKey"], scene.request(1, idempotency_key="k" * 256)),
        (
            "ORGANIZATION_NOT_FOUND",
            ["input", "organizationId"],
            scene.request(1, organization_id=uuid.uuid4()),
        ),
        ("CHAT_NOT_FOUND", ["input", "chatId"], scene.request(1, chat_id=strangers_chat)),
    ]
    for code, field, request in cases:
        error = await expect_error(code, reserve(scene.engine, request, timeout_seconds=TIMEOUT, now=NOW))
        assert error.field == field
    unknown = ReserveRequest(user_id=uuid.uuid4(), estimate_micros=1)
    error = await expect_error("USER_NOT_FOUND", reserve(scene.engine, unknown, timeout_seconds=TIMEOUT))
    assert error.field == ["input", "userId"]


async def test_a_chat_in_another_organization_than_the_reservations_is_refused(
    scene: Scene, make: LimitFactory
) -> None:
    other_org = await make.organization("other")
    error = await expect_error(
        "INVALID_INPUT", scene.reserve(1, organization_id=other_org, chat_id=scene.chat)
    )
    assert error.field == ["input", "chatId"]


async def test_holds_follow_the_scope_of_a_group_limit(engine: AsyncEngine, make: LimitFactory) -> None:
    """With a group limit per organization, a hold for B does not count against A; a hold without an
    organization might land in A, so it counts there too."""
    await make.enable(1000, Period.DAY)
    a, b = await make.organization("A"), await make.organization("B")
    user = await make.user("alice", organizations=(a, b))
    await make.limited_group(a, "A1", 100, members=(user,))
    await make.limited_group(b, "B1", 100, members=(user,))
    scene = Scene(engine, user, a, await make.chat(user, a))
    await scene.held(80, organization_id=b)
    assert (await scene.status(org=a)).held_micros == 0
    await scene.held(10)
    assert (await scene.status(org=a)).held_micros == 10
    assert (await scene.status(org=b)).held_micros == 90
    assert (await scene.status()).held_micros == 90
    assert (await scene.reserve(90, organization_id=a)).reservation is not None
    assert (await scene.reserve(11, organization_id=b)).reservation is None
    assert (await scene.reserve(10, organization_id=b)).reservation is not None


async def test_a_user_limit_counts_holds_in_every_organization(
    engine: AsyncEngine, make: LimitFactory
) -> None:
    await make.enable(1000, Period.DAY)
    a, b = await make.organization("A"), await make.organization("B")
    user = await make.user("alice", organizations=(a, b))
    await make.user_override(user, 100)
    scene = Scene(engine, user, a, await make.chat(user, a))
    await scene.held(80, organization_id=b)
    assert (await scene.status(org=a)).held_micros == 80
    assert (await scene.reserve(21, organization_id=a)).reservation is None


async def test_holds_count_only_in_the_period_that_contains_now(scene: Scene) -> None:
    await scene.held(60)
    key = (scene.user, None, NOW - timedelta(days=1))
    async with scene.engine.connect() as conn:
        yesterday = (await statuses(conn, [key], now=NOW))[key]
    assert yesterday.held_micros == 0


async def test_the_database_refuses_a_settled_reservation_without_a_message(
    scene: Scene, engine: AsyncEngine
) -> None:
    held = await scene.held(10)
    with pytest.raises(Exception, match="check"):
        async with engine.begin() as conn:
            await conn.execute(
                text("UPDATE chat_spend_reservations SET state = 'settled', ended_at = now() WHERE id = :id"),
                {"id": held.id},
            )


async def test_the_database_refuses_to_settle_with_another_users_message(
    scene: Scene, engine: AsyncEngine, make: LimitFactory
) -> None:
    bob = await make.user("bob", organizations=(scene.org,))
    bobs_message = await make.message(await make.chat(bob, scene.org), 5, created_at=NOW)
    held = await scene.held(10)
    with pytest.raises(Exception, match="own user"):
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    """
                    UPDATE chat_spend_reservations SET state = 'settled', ended_at = now(), message_id = :m
                    WHERE id = :id
                    """
                ),
                {"id": held.id, "m": bobs_message},
            )
