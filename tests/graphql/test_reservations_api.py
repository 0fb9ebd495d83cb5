"""Strict enforcement over HTTP (strict.graphql): reserve, settle, release and read reservations as
the daemon would; holds in the status; the enforcement mode and TTL in the configuration; who may
do what; FAIL_CLOSED reaching the daemon."""

import uuid
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.directory.users import User
from spendlimits.limits.periods import Period
from tests.conftest import GraphQLClient
from tests.limits.factories import LimitFactory

FIELDS = "id state amountMicros expiresAt user { id } organization { id } chat { id } message { id totalCostMicros }"

RESERVE = """
mutation ($input: ReserveChatSpendInput!) {
  reserveChatSpend(input: $input) {
    reservation { FIELDS }
    check { allowed failedOpen failedClosed status { heldMicros currentSpendMicros } exceeded { spentMicros heldMicros limitMicros } }
    replayed
    errors { code field }
  }
}
""".replace("FIELDS", FIELDS)

SETTLE = """
mutation ($input: SettleChatSpendInput!) {
  settleChatSpend(input: $input) {
    reservation { FIELDS } message { id totalCostMicros } replayed errors { code field }
  }
}
""".replace("FIELDS", FIELDS)

RELEASE = """
mutation ($id: ID!) {
  releaseChatSpend(input: {reservationId: $id}) { reservation { id state } errors { code field message } }
}
"""

READ = "query ($id: ID!) { reservation(id: $id) { FIELDS } }".replace("FIELDS", FIELDS)

STATUS = """
query ($user: ID!) {
  user(id: $user) { chatUsageLimitStatus { currentSpendMicros heldMicros remainingMicros exceeded } }
}
"""


@pytest.fixture
def make(engine: AsyncEngine) -> LimitFactory:
    return LimitFactory(engine)


@pytest.fixture
async def daemon_scene(make: LimitFactory) -> dict[str, str]:
    """A user limited to 100 micros a month with one chat, as ids the API takes."""
    await make.enable(100, Period.MONTH)
    org = await make.organization("acme")
    user = await make.user("alice", organizations=(org,))
    chat = await make.chat(user, org)
    return {"user": str(user), "org": str(org), "chat": str(chat)}


async def reserve(client: GraphQLClient, **input: Any) -> dict[str, Any]:
    payload: dict[str, Any] = (await client.data(RESERVE, {"input": input}))["reserveChatSpend"]
    return payload


async def settle(client: GraphQLClient, reservation_id: str, chat: str, cost: int) -> dict[str, Any]:
    message = {"chatId": chat, "role": "ASSISTANT", "totalCostMicros": cost}
    payload: dict[str, Any] = (
        await client.data(SETTLE, {"input": {"reservationId": reservation_id, "message": message}})
    )["settleChatSpend"]
    return payload


async def test_the_daemon_reserves_settles_and_the_status_follows(
    as_chatd: GraphQLClient, as_owner: GraphQLClient, daemon_scene: dict[str, str]
) -> None:
    user, chat = daemon_scene["user"], daemon_scene["chat"]
    reserved = await reserve(
        as_chatd, userId=user, organizationId=daemon_scene["org"], chatId=chat, estimateMicros=80
    )
    assert reserved["errors"] == [] and reserved["replayed"] is False
    assert reserved["check"] == {
        "allowed": True,
        "failedOpen": False,
        "failedClosed": False,
        "status": {"heldMicros": 0, "currentSpendMicros": 0},
        "exceeded": None,
    }
    reservation = reserved["reservation"]
    assert (reservation["state"], reservation["amountMicros"], reservation["message"]) == ("HELD", 80, None)
    assert (reservation["user"]["id"], reservation["chat"]["id"]) == (user, chat)
    status = (await as_owner.data(STATUS, {"user": user}))["user"]["chatUsageLimitStatus"]
    assert status == {"currentSpendMicros": 0, "heldMicros": 80, "remainingMicros": 20, "exceeded": False}

    refused = await reserve(as_chatd, userId=user, estimateMicros=21)
    assert refused["reservation"] is None
    assert refused["check"]["allowed"] is False
    # The refusal says that live holds, not spend, used the budget up.
    assert refused["check"]["exceeded"] == {"spentMicros": 0, "heldMicros": 80, "limitMicros": 100}

    settled = await settle(as_chatd, reservation["id"], chat, 60)
    assert settled["errors"] == [] and settled["replayed"] is False
    assert settled["reservation"]["state"] == "SETTLED"
    assert (
        settled["reservation"]["message"]
        == settled["message"]
        == {
            "id": settled["message"]["id"],
            "totalCostMicros": 60,
        }
    )
    status = (await as_owner.data(STATUS, {"user": user}))["user"]["chatUsageLimitStatus"]
    assert status == {"currentSpendMicros": 60, "heldMicros": 0, "remainingMicros": 40, "exceeded": False}

    again = await settle(as_chatd, reservation["id"], chat, 60)
    assert (again["replayed"], again["message"]["id"]) == (True, settled["message"]["id"])


async def test_a_retried_reserve_returns_the_same_reservation(
    as_chatd: GraphQLClient, daemon_scene: dict[str, str]
) -> None:
    first = await reserve(as_chatd, userId=daemon_scene["user"], estimateMicros=50, idempotencyKey="k1")
    again = await reserve(as_chatd, userId=daemon_scene["user"], estimateMicros=50, idempotencyKey="k1")
    assert again["reservation"]["id"] == first["reservation"]["id"]
    assert again["replayed"] is True
    conflict = await reserve(as_chatd, userId=daemon_scene["user"], estimateMicros=51, idempotencyKey="k1")
    assert conflict["reservation"] is None and conflict["check"] is None
    assert conflict["errors"] == [{"code": "IDEMPOTENCY_CONFLICT", "field": ["input", "idempotencyKey"]}]


async def test_release_then_release_again_is_reservation_not_held(
    as_chatd: GraphQLClient, daemon_scene: dict[str, str]
) -> None:
    reserved = await reserve(as_chatd, userId=daemon_scene["user"], estimateMicros=50)
    reservation_id = reserved["reservation"]["id"]
    released = (await as_chatd.data(RELEASE, {"id": reservation_id}))["releaseChatSpend"]
    assert released == {"reservation": {"id": reservation_id, "state": "RELEASED"}, "errors": []}
    again = (await as_chatd.data(RELEASE, {"id": reservation_id}))["releaseChatSpend"]
    assert again["reservation"] is None
    assert [(e["code"], e["field"]) for e in again["errors"]] == [
        ("RESERVATION_NOT_HELD", ["input", "reservationId"])
    ]
    unknown = (await as_chatd.data(RELEASE, {"id": str(uuid.uuid4())}))["releaseChatSpend"]
    assert [e["code"] for e in unknown["errors"]] == ["RESERVATION_NOT_FOUND"]


async def test_an_expired_reservation_reads_as_expired_and_still_settles(
    as_chatd: GraphQLClient, as_owner: GraphQLClient, engine: AsyncEngine, daemon_scene: dict[str, str]
) -> None:
    reserved = await reserve(as_chatd, userId=daemon_scene["user"], estimateMicros=100, ttlSeconds=1)
    reservation_id = reserved["reservation"]["id"]
    async with engine.begin() as conn:
        # Time moved on: the hold lapsed, and no job ran.
        await conn.execute(
            text(
                """
                UPDATE chat_spend_reservations
                SET created_at = created_at - interval '1 hour', expires_at = expires_at - interval '1 hour'
                WHERE id = :id
                """
            ),
            {"id": reservation_id},
        )
    read = (await as_owner.data(READ, {"id": reservation_id}))["reservation"]
    assert read["state"] == "EXPIRED"
    assert (await reserve(as_chatd, userId=daemon_scene["user"], estimateMicros=100))["reservation"]
    settled = await settle(as_chatd, reservation_id, daemon_scene["chat"], 30)
    assert settled["reservation"]["state"] == "SETTLED"
    status = (await as_owner.data(STATUS, {"user": daemon_scene["user"]}))["user"]["chatUsageLimitStatus"]
    assert (status["currentSpendMicros"], status["heldMicros"]) == (30, 100)


async def test_a_settle_for_another_users_chat_is_refused_and_writes_nothing(
    as_chatd: GraphQLClient, make: LimitFactory, engine: AsyncEngine, daemon_scene: dict[str, str]
) -> None:
    bob = await make.user("bob")
    bobs_chat = await make.chat(bob, uuid.UUID(daemon_scene["org"]))
    reserved = await reserve(as_chatd, userId=daemon_scene["user"], estimateMicros=10)
    settled = await settle(as_chatd, reserved["reservation"]["id"], str(bobs_chat), 5)
    assert settled["reservation"] is None and settled["message"] is None
    assert settled["errors"] == [{"code": "INVALID_INPUT", "field": ["input", "message", "chatId"]}]
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM chat_messages")) == 0


async def test_reserve_reports_an_unknown_user_as_a_user_error(as_chatd: GraphQLClient) -> None:
    payload = await reserve(as_chatd, userId=str(uuid.uuid4()), estimateMicros=1)
    assert payload["errors"] == [{"code": "USER_NOT_FOUND", "field": ["input", "userId"]}]


async def test_only_the_daemon_and_owners_may_reserve_settle_or_release(
    as_member: GraphQLClient, as_auditor: GraphQLClient, daemon_scene: dict[str, str]
) -> None:
    for client in (as_member, as_auditor):
        for query, variables in (
            (RESERVE, {"input": {"userId": daemon_scene["user"], "estimateMicros": 1}}),
            (
                SETTLE,
                {
                    "input": {
                        "reservationId": str(uuid.uuid4()),
                        "message": {"chatId": daemon_scene["chat"], "role": "ASSISTANT"},
                    }
                },
            ),
            (RELEASE, {"id": str(uuid.uuid4())}),
        ):
            body = await client.execute(query, variables)
            assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]


async def test_a_member_reads_their_own_reservations_only(
    as_member: GraphQLClient, as_owner: GraphQLClient, member: User, daemon_scene: dict[str, str]
) -> None:
    others = await reserve(as_owner, userId=daemon_scene["user"], estimateMicros=1)
    own = await reserve(as_owner, userId=str(member.id), estimateMicros=1)
    read = (await as_member.data(READ, {"id": own["reservation"]["id"]}))["reservation"]
    assert read["user"]["id"] == str(member.id)
    body = await as_member.execute(READ, {"id": others["reservation"]["id"]})
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    assert (await as_owner.data(READ, {"id": str(uuid.uuid4())}))["reservation"] is None
    body = await as_owner.execute(READ, {"id": "not-a-uuid"})
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]


UPDATE_CONFIG = """
mutation ($input: UpdateChatUsageLimitConfigInput!) {
  updateChatUsageLimitConfig(input: $input) {
    config { enabled enforcementMode reservationTtlSeconds } errors { code field }
  }
}
"""

CHECK = """
query ($user: ID!) {
  chatUsageLimitCheck(userId: $user) { allowed failedOpen failedClosed status { heldMicros } exceeded { message } }
}
"""


async def test_the_owner_sets_the_enforcement_mode_and_reservation_ttl(as_owner: GraphQLClient) -> None:
    config = (await as_owner.data("{ chatUsageLimitConfig { enforcementMode reservationTtlSeconds } }"))[
        "chatUsageLimitConfig"
    ]
    assert config == {"enforcementMode": "FAIL_OPEN", "reservationTtlSeconds": 300}
    updated = (
        await as_owner.data(
            UPDATE_CONFIG,
            {
                "input": {
                    "spendLimitMicros": 100,
                    "period": "DAY",
                    "enforcementMode": "FAIL_CLOSED",
                    "reservationTtlSeconds": 30,
                }
            },
        )
    )["updateChatUsageLimitConfig"]
    assert updated == {
        "config": {"enabled": True, "enforcementMode": "FAIL_CLOSED", "reservationTtlSeconds": 30},
        "errors": [],
    }
    bad = (
        await as_owner.data(
            UPDATE_CONFIG, {"input": {"spendLimitMicros": 100, "period": "DAY", "reservationTtlSeconds": 0}}
        )
    )["updateChatUsageLimitConfig"]
    assert bad == {
        "config": None,
        "errors": [{"code": "INVALID_INPUT", "field": ["input", "reservationTtlSeconds"]}],
    }


async def test_the_configured_ttl_sets_a_reservations_expiry(
    as_owner: GraphQLClient, as_chatd: GraphQLClient, daemon_scene: dict[str, str]
) -> None:
    await as_owner.data(
        UPDATE_CONFIG, {"input": {"spendLimitMicros": 100, "period": "MONTH", "reservationTtlSeconds": 30}}
    )
    payload = await reserve(as_chatd, userId=daemon_scene["user"], estimateMicros=1)
    read = (
        await as_owner.data(
            "query ($id: ID!) { reservation(id: $id) { createdAt expiresAt } }",
            {"id": payload["reservation"]["id"]},
        )
    )["reservation"]
    created, expires = (datetime.fromisoformat(read[k]) for k in ("createdAt", "expiresAt"))
    assert (expires - created).total_seconds() == 30


async def test_fail_closed_reaches_the_daemon_when_the_database_errors(
    as_owner: GraphQLClient, as_chatd: GraphQLClient, engine: AsyncEngine, daemon_scene: dict[str, str]
) -> None:
    await as_owner.data(
        UPDATE_CONFIG,
        {"input": {"spendLimitMicros": 100, "period": "MONTH", "enforcementMode": "FAIL_CLOSED"}},
    )
    async with engine.begin() as conn:
        await conn.execute(text("ALTER TABLE chat_spend_daily_folded RENAME TO chat_spend_daily_folded_gone"))
    checked = (await as_chatd.data(CHECK, {"user": daemon_scene["user"]}))["chatUsageLimitCheck"]
    assert checked == {
        "allowed": False,
        "failedOpen": False,
        "failedClosed": True,
        "status": None,
        "exceeded": None,
    }
    reserved = await reserve(as_chatd, userId=daemon_scene["user"], estimateMicros=1)
    assert reserved["reservation"] is None and reserved["errors"] == []
    assert (reserved["check"]["allowed"], reserved["check"]["failedClosed"]) == (False, True)


async def test_a_reserve_of_zero_at_spend_equal_to_the_limit_is_refused_over_http(
    as_chatd: GraphQLClient, daemon_scene: dict[str, str], make: LimitFactory
) -> None:
    """Equality blocks every reserve, even one that would hold nothing, as it blocks the check."""
    await make.message(uuid.UUID(daemon_scene["chat"]), 100)
    refused = await reserve(as_chatd, userId=daemon_scene["user"], estimateMicros=0)
    assert refused["reservation"] is None and refused["errors"] == []
    assert refused["check"]["allowed"] is False
    assert refused["check"]["exceeded"] == {"spentMicros": 100, "heldMicros": 0, "limitMicros": 100}
    checked = await as_chatd.data(CHECK, {"user": daemon_scene["user"]})
    assert checked["chatUsageLimitCheck"]["allowed"] is False
