"""Settle is ONE call of ``spendlimits_settle`` in autocommit (migration 000009): every outcome the
function returns, through settleChatSpend over HTTP and through the domain, with the errors settle
has always given; one statement after the token's; a race of two settles of one reservation."""

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits import metrics
from spendlimits.directory.cost import TokenUsage
from spendlimits.directory.ingest import NewMessage, record_message
from spendlimits.directory.messages import MessageRole
from spendlimits.errors import DomainError
from spendlimits.limits.periods import Period
from spendlimits.limits.reservations import ReserveRequest, release, reserve, settle
from tests.conftest import GraphQLClient
from tests.limits.factories import LimitFactory

SETTLE = """
mutation ($input: SettleChatSpendInput!) {
  settleChatSpend(input: $input) {
    reservation { id state message { id } } message { id totalCostMicros } replayed errors { code field message }
  }
}
"""


@dataclass(frozen=True, slots=True)
class Spec:
    """A settle's message, as both the API and the domain take it."""

    chat: uuid.UUID
    total: int | None = None
    model: uuid.UUID | None = None
    input_tokens: int | None = None
    key: str | None = None
    created_at: datetime | None = None

    def domain(self) -> NewMessage:
        return NewMessage(
            chat_id=self.chat,
            role=MessageRole.ASSISTANT,
            model_id=self.model,
            usage=TokenUsage(input_tokens=self.input_tokens) if self.input_tokens is not None else None,
            total_cost_micros=self.total,
            created_at=self.created_at,
            idempotency_key=self.key,
        )

    def graphql(self) -> dict[str, Any]:
        message: dict[str, Any] = {"chatId": str(self.chat), "role": "ASSISTANT"}
        if self.total is not None:
            message["totalCostMicros"] = self.total
        if self.model is not None:
            message["modelId"] = str(self.model)
        if self.input_tokens is not None:
            message["usage"] = {"inputTokens": self.input_tokens}
        if self.key is not None:
            message["idempotencyKey"] = self.key
        if self.created_at is not None:
            message["createdAt"] = self.created_at.isoformat()
        return message


@dataclass
class World:
    engine: AsyncEngine
    make: LimitFactory
    user: uuid.UUID
    org: uuid.UUID
    chat: uuid.UUID
    #: alice's chat in an organization other than ``org``.
    elsewhere: uuid.UUID
    bobs_chat: uuid.UUID
    #: 2 micros per million input tokens.
    model: uuid.UUID
    #: So expensive that 2^31 - 1 tokens cost more than 2^53 - 1 micros.
    dear_model: uuid.UUID
    settled_messages: list[uuid.UUID] = field(default_factory=list)

    async def held(self, organization: uuid.UUID | None = None, *, ago: timedelta | None = None) -> uuid.UUID:
        now = datetime.now(UTC) - (ago or timedelta())
        request = ReserveRequest(
            user_id=self.user, organization_id=organization, estimate_micros=50, ttl_seconds=1
        )
        reserved = await reserve(self.engine, request, timeout_seconds=5, now=now)
        assert reserved.reservation is not None
        return reserved.reservation.id

    async def settle(self, reservation_id: uuid.UUID, spec: Spec) -> Any:
        async with self.engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            return await settle(conn, reservation_id, spec.domain())

    async def counts(self) -> tuple[int, int, str]:
        """Messages, rolled-up spend, and the states of all reservations (sorted)."""
        async with self.engine.connect() as conn:
            messages = await conn.scalar(text("SELECT count(*) FROM chat_messages"))
            spend = await conn.scalar(text("SELECT coalesce(sum(spend_micros), 0) FROM chat_spend_daily"))
            states = await conn.scalar(
                text("SELECT string_agg(state, ',' ORDER BY state) FROM chat_spend_reservations")
            )
        return int(messages or 0), int(spend or 0), str(states)


@pytest.fixture
async def world(engine: AsyncEngine) -> World:
    make = LimitFactory(engine)
    await make.enable(10**9, Period.MONTH)
    org = await make.organization("acme")
    other = await make.organization("other")
    user = await make.user("alice", organizations=(org, other))
    bob = await make.user("bob", organizations=(org,))
    return World(
        engine=engine,
        make=make,
        user=user,
        org=org,
        chat=await make.chat(user, org),
        elsewhere=await make.chat(user, other),
        bobs_chat=await make.chat(bob, org),
        model=await make.model("p", "cheap", input_price=2),
        dear_model=await make.model("p", "dear", input_price=2**62),
    )


Setup = Callable[[World], Awaitable[tuple[uuid.UUID, Spec]]]


async def _fresh(w: World) -> tuple[uuid.UUID, Spec]:
    return await w.held(), Spec(w.chat, total=5)


async def _priced(w: World) -> tuple[uuid.UUID, Spec]:
    return await w.held(), Spec(w.chat, model=w.model, input_tokens=1_500_000)


async def _expired(w: World) -> tuple[uuid.UUID, Spec]:
    return await w.held(ago=timedelta(minutes=1)), Spec(w.chat, total=5)


async def _retried(w: World) -> tuple[uuid.UUID, Spec]:
    reservation, spec = await w.held(), Spec(w.chat, total=5, key=f"turn-{uuid.uuid4()}")
    await w.settle(reservation, spec)
    return reservation, spec


async def _unknown(w: World) -> tuple[uuid.UUID, Spec]:
    return uuid.uuid4(), Spec(w.chat, total=5)


async def _released(w: World) -> tuple[uuid.UUID, Spec]:
    reservation = await w.held()
    async with w.engine.begin() as conn:
        await release(conn, reservation)
    return reservation, Spec(w.chat, total=5)


async def _no_chat(w: World) -> tuple[uuid.UUID, Spec]:
    return await w.held(), Spec(uuid.uuid4(), total=5)


async def _bobs_chat(w: World) -> tuple[uuid.UUID, Spec]:
    return await w.held(), Spec(w.bobs_chat, total=5)


async def _other_org(w: World) -> tuple[uuid.UUID, Spec]:
    return await w.held(w.org), Spec(w.elsewhere, total=5)


async def _too_dear(w: World) -> tuple[uuid.UUID, Spec]:
    return await w.held(), Spec(w.chat, model=w.dear_model, input_tokens=2**31 - 1)


async def _no_model(w: World) -> tuple[uuid.UUID, Spec]:
    return await w.held(), Spec(w.chat, model=uuid.uuid4(), input_tokens=10)


async def _key_taken(w: World) -> tuple[uuid.UUID, Spec]:
    async with w.engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await record_message(conn, Spec(w.chat, total=1, key="shared").domain())
    return await w.held(), Spec(w.chat, total=5, key="shared")


async def _settled_otherwise(w: World) -> tuple[uuid.UUID, Spec]:
    reservation = await w.held()
    await w.settle(reservation, Spec(w.chat, total=5, key="first"))
    return reservation, Spec(w.chat, total=5, key="second")


async def _message_used(w: World) -> tuple[uuid.UUID, Spec]:
    spec = Spec(w.chat, total=5, key="one-call")
    await w.settle(await w.held(), spec)
    return await w.held(), spec


async def _ahead(w: World) -> tuple[uuid.UUID, Spec]:
    return await w.held(), Spec(w.chat, total=5, created_at=datetime.now(UTC) + timedelta(minutes=6))


SUCCESSES: dict[str, tuple[Setup, int, bool]] = {
    # name: (setup, cost recorded, replayed)
    "settled": (_fresh, 5, False),
    "priced-by-the-database": (_priced, 3, False),
    "expired-still-records": (_expired, 5, False),
    "replayed": (_retried, 5, True),
}

REFUSALS: dict[str, tuple[Setup, str, list[str], str]] = {
    # name: (setup, code, field, message)
    "reservation-not-found": (
        _unknown,
        "RESERVATION_NOT_FOUND",
        ["input", "reservationId"],
        "Reservation not found.",
    ),
    "not-held": (
        _released,
        "RESERVATION_NOT_HELD",
        ["input", "reservationId"],
        "The reservation is no longer held: it was settled, released or has expired.",
    ),
    "chat-not-found": (_no_chat, "CHAT_NOT_FOUND", ["input", "message", "chatId"], "Chat not found."),
    "chat-of-another-user": (
        _bobs_chat,
        "INVALID_INPUT",
        ["input", "message", "chatId"],
        "The message's chat must belong to the reservation's user.",
    ),
    "chat-in-another-organization": (
        _other_org,
        "INVALID_INPUT",
        ["input", "message", "chatId"],
        "The message's chat must belong to the reservation's organization.",
    ),
    "cost-too-large": (
        _too_dear,
        "INVALID_INPUT",
        ["input", "message", "usage"],
        "The message's cost is too large to record.",
    ),
    "model-not-found": (
        _no_model,
        "MODEL_NOT_FOUND",
        ["input", "message", "modelId"],
        "Chat model not found.",
    ),
    "message-key-taken": (
        _key_taken,
        "IDEMPOTENCY_CONFLICT",
        ["input", "message", "idempotencyKey"],
        "This idempotencyKey was already used for a different message in this chat.",
    ),
    "settled-with-another-message": (
        _settled_otherwise,
        "IDEMPOTENCY_CONFLICT",
        ["input", "message"],
        "This reservation was already settled with a different message.",
    ),
    "message-settled-another-reservation": (
        _message_used,
        "IDEMPOTENCY_CONFLICT",
        ["input", "message", "idempotencyKey"],
        "That message already settled another reservation.",
    ),
    "created-at-ahead": (
        _ahead,
        "INVALID_INPUT",
        ["input", "message", "createdAt"],
        "createdAt may not be more than 5 minutes ahead of the server clock.",
    ),
}


#: What a daemon reads back: nothing that needs a further statement (reservation.message would).
SETTLE_LEAN = """
mutation ($input: SettleChatSpendInput!) {
  settleChatSpend(input: $input) { reservation { id state } message { id totalCostMicros } replayed errors { code } }
}
"""


async def settle_over_http(
    client: GraphQLClient, reservation: uuid.UUID, spec: Spec, document: str = SETTLE
) -> dict[str, Any]:
    data = await client.data(
        document, {"input": {"reservationId": str(reservation), "message": spec.graphql()}}
    )
    payload: dict[str, Any] = data["settleChatSpend"]
    return payload


@pytest.mark.parametrize("name", list(SUCCESSES))
async def test_every_success_over_http_and_in_the_domain(
    world: World, as_chatd: GraphQLClient, name: str
) -> None:
    setup, cost, replayed = SUCCESSES[name]
    reservation, spec = await setup(world)
    settled = await world.settle(reservation, spec)
    assert (settled.message.total_cost_micros, settled.replayed) == (cost, replayed)
    assert settled.reservation.message_id == settled.message.id
    # Asked again over HTTP: the same message, replayed, nothing added.
    before = await world.counts()
    payload = await settle_over_http(as_chatd, reservation, spec)
    assert payload["errors"] == []
    assert payload["replayed"] is True
    assert payload["message"] == {"id": str(settled.message.id), "totalCostMicros": cost}
    assert payload["reservation"]["state"] == "SETTLED"
    assert await world.counts() == before

    # The same case from scratch, over HTTP first.
    reservation, spec = await setup(world)
    payload = await settle_over_http(as_chatd, reservation, spec)
    assert (payload["errors"], payload["replayed"], payload["message"]["totalCostMicros"]) == (
        [],
        replayed,
        cost,
    )
    assert payload["reservation"]["message"]["id"] == payload["message"]["id"]


@pytest.mark.parametrize("name", list(REFUSALS))
@pytest.mark.parametrize("through", ["http", "domain"])
async def test_every_refusal_keeps_its_error_and_writes_nothing(
    world: World, as_chatd: GraphQLClient, name: str, through: str
) -> None:
    setup, code, path, message = REFUSALS[name]
    reservation, spec = await setup(world)
    before = await world.counts()
    if through == "http":
        payload = await settle_over_http(as_chatd, reservation, spec)
        assert (payload["reservation"], payload["message"], payload["replayed"]) == (None, None, False)
        assert payload["errors"] == [{"code": code, "field": path, "message": message}]
    else:
        with pytest.raises(DomainError) as refused:
            await world.settle(reservation, spec)
        assert (refused.value.code, refused.value.field, refused.value.message) == (code, path, message)
    assert await world.counts() == before


def statements() -> float:
    """spendlimits_db_statements_total: counted on the driver path and through SQLAlchemy alike."""
    return float(metrics.SQL_STATEMENTS._value.get())


async def test_settle_chat_spend_runs_one_statement_after_the_token(
    world: World, as_chatd: GraphQLClient
) -> None:
    reservation, spec = await _priced(world)
    counted = []
    for _ in range(2):  # the settle, then its retry (replayed)
        before = statements()
        payload = await settle_over_http(as_chatd, reservation, spec, SETTLE_LEAN)
        counted.append(statements() - before)
        assert payload["errors"] == []
    refused, refused_spec = await _bobs_chat(world)
    before = statements()
    assert (await settle_over_http(as_chatd, refused, refused_spec, SETTLE_LEAN))["errors"]
    counted.append(statements() - before)
    # The token's statement, then the one call: for a settle, a replay and a refusal alike.
    assert counted == [2, 2, 2]


@pytest.mark.parametrize("keyed", [False, True], ids=["reservation-key", "own-keys"])
async def test_two_settles_of_one_reservation_race_one_wins(world: World, keyed: bool) -> None:
    rounds = 10
    for n in range(rounds):
        reservation = await world.held()
        specs = [
            Spec(world.chat, total=5, key=f"a{n}" if keyed else None),
            Spec(world.chat, total=7, key=f"b{n}" if keyed else None),
        ]
        outcomes = await asyncio.gather(
            *(world.settle(reservation, s) for s in specs), return_exceptions=True
        )
        won = [o for o in outcomes if not isinstance(o, BaseException)]
        lost = [o for o in outcomes if isinstance(o, BaseException)]
        assert len(won) == 1 and len(lost) == 1, outcomes
        assert isinstance(lost[0], DomainError) and lost[0].code == "IDEMPOTENCY_CONFLICT", lost[0]
        world.settled_messages.append(won[0].message.id)
    async with world.engine.connect() as conn:
        recorded = await conn.scalar(text("SELECT coalesce(sum(total_cost_micros), 0) FROM chat_messages"))
        winners = await conn.scalar(
            text(
                """
                SELECT coalesce(sum(m.total_cost_micros), 0) FROM chat_spend_reservations r
                JOIN chat_messages m ON m.id = r.message_id
                """
            )
        )
    messages, rolled_up, states = await world.counts()
    # One message per reservation, each the one its reservation points at; the rollup exact.
    assert messages == rounds and sorted(world.settled_messages) == sorted(set(world.settled_messages))
    assert rolled_up == recorded == winners
    assert states == ",".join(["settled"] * rounds)
