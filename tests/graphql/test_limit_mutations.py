"""The five limit mutations over HTTP: errors as data, nothing written on error, OWNER only
(spec sections 6, 8, 9 and 11)."""

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.auth.principal import Role, Service
from spendlimits.directory.users import User
from spendlimits.limits.periods import Period
from tests.conftest import GraphQLClient, make_token, make_user
from tests.limits.factories import DOLLAR, LimitFactory


@pytest.fixture
def make(engine: AsyncEngine) -> LimitFactory:
    return LimitFactory(engine)


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body["errors"]]


UPDATE_CONFIG = """
mutation ($limit: Micros, $period: ChatUsageLimitPeriod) {
  updateChatUsageLimitConfig(input: {spendLimitMicros: $limit, period: $period}) {
    config { enabled spendLimitMicros period }
    errors { code message field }
  }
}
"""

UPSERT = """
mutation ($user: ID!, $limit: Micros) {
  upsertChatUsageLimitOverride(input: {userId: $user, spendLimitMicros: $limit}) {
    override { user { username chatSpendLimitMicros } spendLimitMicros }
    errors { code message field }
  }
}
"""

DELETE = """
mutation ($user: ID!) {
  deleteChatUsageLimitOverride(input: {userId: $user}) { deletedUserId errors { code message field } }
}
"""

UPSERT_GROUP = """
mutation ($group: ID!, $limit: Micros) {
  upsertChatUsageLimitGroupOverride(input: {groupId: $group, spendLimitMicros: $limit}) {
    groupOverride { group { name chatSpendLimitMicros } memberCount spendLimitMicros }
    errors { code message field }
  }
}
"""

DELETE_GROUP = """
mutation ($group: ID!) {
  deleteChatUsageLimitGroupOverride(input: {groupId: $group}) { deletedGroupId errors { code message field } }
}
"""

CONFIG = """
{
  chatUsageLimitConfig {
    enabled spendLimitMicros period
    overrides { totalCount nodes { user { username } spendLimitMicros } }
    groupOverrides { totalCount nodes { group { name } spendLimitMicros } }
  }
}
"""

INVALID_SPEND_LIMIT = {
    "code": "INVALID_SPEND_LIMIT",
    "message": "Spend limit must be greater than 0.",
    "field": ["input", "spendLimitMicros"],
}


# --- the configuration ---------------------------------------------------------------------------


async def test_setting_a_default_limit_enables_limits(as_owner: GraphQLClient) -> None:
    result = (await as_owner.data(UPDATE_CONFIG, {"limit": 5 * DOLLAR, "period": "DAY"}))[
        "updateChatUsageLimitConfig"
    ]
    assert result == {
        "config": {"enabled": True, "spendLimitMicros": 5 * DOLLAR, "period": "DAY"},
        "errors": [],
    }
    config = (await as_owner.data(CONFIG))["chatUsageLimitConfig"]
    assert (config["enabled"], config["spendLimitMicros"], config["period"]) == (True, 5 * DOLLAR, "DAY")


async def test_a_null_limit_disables_keeping_the_stored_period_unless_given(as_owner: GraphQLClient) -> None:
    await as_owner.data(UPDATE_CONFIG, {"limit": DOLLAR, "period": "DAY"})
    # Unset variables leave the fields out: nothing changes (before insight, this disabled limits).
    kept = (await as_owner.data(UPDATE_CONFIG, {}))["updateChatUsageLimitConfig"]
    daily = (await as_owner.data(UPDATE_CONFIG, {"limit": None}))["updateChatUsageLimitConfig"]
    weekly = (await as_owner.data(UPDATE_CONFIG, {"limit": None, "period": "WEEK"}))[
        "updateChatUsageLimitConfig"
    ]
    assert kept["config"] == {"enabled": True, "spendLimitMicros": DOLLAR, "period": "DAY"}
    assert daily["config"] == {"enabled": False, "spendLimitMicros": None, "period": "DAY"}
    assert weekly["config"] == {"enabled": False, "spendLimitMicros": None, "period": "WEEK"}


@pytest.mark.parametrize(
    ("variables", "error"),
    [
        ({"limit": 0, "period": "DAY"}, INVALID_SPEND_LIMIT),
        ({"limit": -1, "period": "DAY"}, INVALID_SPEND_LIMIT),
        (
            {"limit": DOLLAR},
            {
                "code": "INVALID_PERIOD",
                "message": "Period is required when setting a spend limit.",
                "field": ["input", "period"],
            },
        ),
    ],
)
async def test_a_refused_configuration_is_reported_and_nothing_changes(
    as_owner: GraphQLClient, variables: dict[str, Any], error: dict[str, Any]
) -> None:
    result = (await as_owner.data(UPDATE_CONFIG, variables))["updateChatUsageLimitConfig"]
    assert result == {"config": None, "errors": [error]}
    config = (await as_owner.data(CONFIG))["chatUsageLimitConfig"]
    assert (config["enabled"], config["period"]) == (False, "MONTH")


async def test_a_fractional_limit_is_bad_user_input(as_owner: GraphQLClient) -> None:
    body = await as_owner.execute(UPDATE_CONFIG, {"limit": 1.5, "period": "DAY"})
    assert codes(body) == ["BAD_USER_INPUT"]


async def test_disabling_keeps_overrides_stored_but_unenforced(
    as_owner: GraphQLClient, as_chatd: GraphQLClient, make: LimitFactory
) -> None:
    org = await make.organization("acme")
    alice = await make.user("alice", organizations=(org,))
    await make.spend(alice, org, 50)
    await as_owner.data(UPDATE_CONFIG, {"limit": DOLLAR, "period": "MONTH"})
    await as_owner.data(UPSERT, {"user": str(alice), "limit": 10})
    await as_owner.data(UPSERT_GROUP, {"group": str(org), "limit": 20})
    check = "query ($u: ID!) { chatUsageLimitCheck(userId: $u) { allowed status { limitSource } } }"
    assert (await as_chatd.data(check, {"u": str(alice)}))["chatUsageLimitCheck"]["allowed"] is False

    await as_owner.data(UPDATE_CONFIG, {"limit": None})
    config = (await as_owner.data(CONFIG))["chatUsageLimitConfig"]
    assert config["overrides"] == {
        "totalCount": 1,
        "nodes": [{"user": {"username": "alice"}, "spendLimitMicros": 10}],
    }
    assert config["groupOverrides"]["nodes"] == [{"group": {"name": "Everyone"}, "spendLimitMicros": 20}]
    assert (await as_chatd.data(check, {"u": str(alice)}))["chatUsageLimitCheck"] == {
        "allowed": True,
        "status": {"limitSource": "DISABLED"},
    }


# --- user overrides ------------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [None, 0, -5])
async def test_an_override_without_a_positive_value_is_invalid(
    as_owner: GraphQLClient, member: User, limit: int | None
) -> None:
    for user in (str(member.id), str(uuid.uuid4())):
        result = (await as_owner.data(UPSERT, {"user": user, "limit": limit}))["upsertChatUsageLimitOverride"]
        assert result == {"override": None, "errors": [INVALID_SPEND_LIMIT]}


async def test_an_unknown_user_is_not_found_on_upsert_and_delete(as_owner: GraphQLClient) -> None:
    unknown = str(uuid.uuid4())
    upsert = (await as_owner.data(UPSERT, {"user": unknown, "limit": DOLLAR}))["upsertChatUsageLimitOverride"]
    delete = (await as_owner.data(DELETE, {"user": unknown}))["deleteChatUsageLimitOverride"]
    not_found = {"code": "USER_NOT_FOUND", "message": "User not found.", "field": ["input", "userId"]}
    assert upsert == {"override": None, "errors": [not_found]}
    assert delete == {"deletedUserId": None, "errors": [not_found]}


async def test_deleting_an_override_that_does_not_exist_is_override_not_found(
    as_owner: GraphQLClient, member: User
) -> None:
    result = (await as_owner.data(DELETE, {"user": str(member.id)}))["deleteChatUsageLimitOverride"]
    assert result["deletedUserId"] is None
    assert result["errors"] == [
        {
            "code": "OVERRIDE_NOT_FOUND",
            "message": "Chat usage limit override not found.",
            "field": ["input", "userId"],
        }
    ]


async def test_a_second_upsert_replaces_the_first_override(as_owner: GraphQLClient, member: User) -> None:
    await as_owner.data(UPSERT, {"user": str(member.id), "limit": 5_000_000})
    second = (await as_owner.data(UPSERT, {"user": str(member.id), "limit": "10000000"}))[
        "upsertChatUsageLimitOverride"
    ]
    assert second == {
        "override": {
            "user": {"username": "member", "chatSpendLimitMicros": 10_000_000},
            "spendLimitMicros": 10_000_000,
        },
        "errors": [],
    }
    overrides = (await as_owner.data(CONFIG))["chatUsageLimitConfig"]["overrides"]
    assert overrides == {
        "totalCount": 1,
        "nodes": [{"user": {"username": "member"}, "spendLimitMicros": 10_000_000}],
    }


async def test_deleting_an_override_returns_the_user_to_the_hierarchy(
    as_owner: GraphQLClient, make: LimitFactory, member: User
) -> None:
    await make.enable(7, Period.DAY)
    await make.user_override(member.id, 10)
    result = (await as_owner.data(DELETE, {"user": str(member.id)}))["deleteChatUsageLimitOverride"]
    assert result == {"deletedUserId": str(member.id), "errors": []}
    limit = await as_owner.data(
        "query ($id: ID!) { user(id: $id) { chatSpendLimitMicros effectiveChatSpendLimit { limitMicros source } } }",
        {"id": str(member.id)},
    )
    assert limit["user"] == {
        "chatSpendLimitMicros": None,
        "effectiveChatSpendLimit": {"limitMicros": 7, "source": "DEFAULT"},
    }


async def test_a_malformed_user_id_is_bad_user_input(as_owner: GraphQLClient) -> None:
    body = await as_owner.execute(UPSERT, {"user": "nope", "limit": DOLLAR})
    assert codes(body) == ["BAD_USER_INPUT"]


# --- group overrides -----------------------------------------------------------------------------------


async def test_a_group_override_counts_members_but_not_system_users(
    as_owner: GraphQLClient, make: LimitFactory
) -> None:
    org = await make.organization("acme")
    human = await make.user("human", organizations=(org,))
    robot = await make.user("robot", is_system=True, organizations=(org,))
    team = await make.group(org, "team", members=(human, robot))
    result = (await as_owner.data(UPSERT_GROUP, {"group": str(team), "limit": 5 * DOLLAR}))[
        "upsertChatUsageLimitGroupOverride"
    ]
    assert result == {
        "groupOverride": {
            "group": {"name": "team", "chatSpendLimitMicros": 5 * DOLLAR},
            "memberCount": 1,
            "spendLimitMicros": 5 * DOLLAR,
        },
        "errors": [],
    }


async def test_an_everyone_group_override_counts_the_organizations_members(
    as_owner: GraphQLClient, make: LimitFactory
) -> None:
    org = await make.organization("acme")
    for name in ("a", "b", "c"):
        await make.user(name, organizations=(org,))
    result = (await as_owner.data(UPSERT_GROUP, {"group": str(org), "limit": DOLLAR}))[
        "upsertChatUsageLimitGroupOverride"
    ]
    assert result["groupOverride"]["memberCount"] == 3


async def test_a_group_override_needs_a_positive_value(as_owner: GraphQLClient) -> None:
    result = (await as_owner.data(UPSERT_GROUP, {"group": str(uuid.uuid4()), "limit": 0}))[
        "upsertChatUsageLimitGroupOverride"
    ]
    assert result == {"groupOverride": None, "errors": [INVALID_SPEND_LIMIT]}


async def test_an_unknown_group_is_not_found_on_upsert_and_delete(as_owner: GraphQLClient) -> None:
    unknown = str(uuid.uuid4())
    upsert = (await as_owner.data(UPSERT_GROUP, {"group": unknown, "limit": DOLLAR}))[
        "upsertChatUsageLimitGroupOverride"
    ]
    delete = (await as_owner.data(DELETE_GROUP, {"group": unknown}))["deleteChatUsageLimitGroupOverride"]
    not_found = {"code": "GROUP_NOT_FOUND", "message": "Group not found.", "field": ["input", "groupId"]}
    assert upsert == {"groupOverride": None, "errors": [not_found]}
    assert delete == {"deletedGroupId": None, "errors": [not_found]}


async def test_deleting_a_missing_group_override_is_override_not_found(
    as_owner: GraphQLClient, make: LimitFactory
) -> None:
    team = await make.group(await make.organization("acme"), "team")
    result = (await as_owner.data(DELETE_GROUP, {"group": str(team)}))["deleteChatUsageLimitGroupOverride"]
    assert result["errors"] == [
        {
            "code": "OVERRIDE_NOT_FOUND",
            "message": "Chat usage limit group override not found.",
            "field": ["input", "groupId"],
        }
    ]


async def test_deleting_a_group_override_removes_it_from_the_list(
    as_owner: GraphQLClient, make: LimitFactory
) -> None:
    team = await make.limited_group(await make.organization("acme"), "team", DOLLAR)
    result = (await as_owner.data(DELETE_GROUP, {"group": str(team)}))["deleteChatUsageLimitGroupOverride"]
    assert result == {"deletedGroupId": str(team), "errors": []}
    assert (await as_owner.data(CONFIG))["chatUsageLimitConfig"]["groupOverrides"]["totalCount"] == 0


# --- only owners write limits (spec section 8) -------------------------------------------------------


@pytest.mark.parametrize("caller", [Role.AUDITOR, Role.MEMBER, Service.CHATD])
@pytest.mark.parametrize(
    ("mutation", "variables"),
    [
        (UPDATE_CONFIG, {"limit": DOLLAR, "period": "DAY"}),
        (UPSERT, {"limit": DOLLAR}),
        (DELETE, {}),
        (UPSERT_GROUP, {"limit": DOLLAR}),
        (DELETE_GROUP, {}),
    ],
)
async def test_only_an_owner_may_change_limits(
    caller: Role | Service,
    mutation: str,
    variables: dict[str, Any],
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    as_owner: GraphQLClient,
    make: LimitFactory,
    member: User,
) -> None:
    if isinstance(caller, Service):
        token = await make_token(engine, service=caller)
    else:
        token = await make_token(engine, await make_user(engine, caller, username="caller"))
    await make.user_override(member.id, 3)
    org = await make.organization("acme")
    await make.group_override(org, 4)
    body = await GraphQLClient(client, token).execute(
        mutation, {"user": str(member.id), "group": str(org), **variables}
    )
    assert body["data"] is None
    assert codes(body) == ["FORBIDDEN"]
    config = (await as_owner.data(CONFIG))["chatUsageLimitConfig"]
    assert (config["enabled"], config["overrides"]["totalCount"], config["groupOverrides"]["totalCount"]) == (
        False,
        1,
        1,
    )
