"""The limits read API over HTTP: configuration, statuses, effective limits, the admission check,
and who may read what (spec sections 3-6, 8 and 11)."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.directory.users import User
from spendlimits.limits.periods import Period
from tests.conftest import GraphQLClient
from tests.limits.factories import DOLLAR, LimitFactory


@pytest.fixture
def make(engine: AsyncEngine) -> LimitFactory:
    return LimitFactory(engine)


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body["errors"]]


def iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


CONFIG = """
{
  chatUsageLimitConfig {
    enabled spendLimitMicros period unpricedModelCount
    overrides { totalCount nodes { user { username } spendLimitMicros } }
    groupOverrides { totalCount nodes { group { name } memberCount spendLimitMicros } }
  }
}
"""

STATUS_FIELDS = """
fragment StatusFields on ChatUsageLimitStatus {
  isLimited limitSource period spendLimitMicros currentSpendMicros remainingMicros exceeded
  periodStart periodEnd
}
"""

MY_STATUS = (
    """
query ($org: ID, $at: DateTime) { myChatUsageLimitStatus(organizationId: $org, at: $at) { ...StatusFields } }
"""
    + STATUS_FIELDS
)

CHECK = """
query ($user: ID!, $org: ID) {
  chatUsageLimitCheck(userId: $user, organizationId: $org) {
    allowed failedOpen
    status { limitSource spendLimitMicros currentSpendMicros exceeded periodEnd }
    exceeded { message spentMicros limitMicros resetsAt }
  }
}
"""

UNLIMITED = {
    "isLimited": False,
    "limitSource": "DISABLED",
    "period": None,
    "spendLimitMicros": None,
    "currentSpendMicros": 0,
    "remainingMicros": None,
    "exceeded": False,
    "periodStart": None,
    "periodEnd": None,
}


# --- a fresh install ---------------------------------------------------------------------------


async def test_a_fresh_install_is_disabled_monthly_without_overrides(as_owner: GraphQLClient) -> None:
    data = await as_owner.data(CONFIG)
    assert data["chatUsageLimitConfig"] == {
        "enabled": False,
        "spendLimitMicros": None,
        "period": "MONTH",
        "unpricedModelCount": 0,
        "overrides": {"totalCount": 0, "nodes": []},
        "groupOverrides": {"totalCount": 0, "nodes": []},
    }


async def test_on_a_fresh_install_every_status_is_unlimited(
    as_member: GraphQLClient, as_owner: GraphQLClient, make: LimitFactory, member: User
) -> None:
    org = await make.organization("acme")
    await make.join(org, member.id)
    await make.spend(member.id, org, 5 * DOLLAR)
    mine = await as_member.data(MY_STATUS, {"org": str(org)})
    theirs = await as_owner.data(
        """
        query ($id: ID!) {
          user(id: $id) {
            chatUsageLimitStatus { ...StatusFields }
            effectiveChatSpendLimit { limitMicros source group { name } period }
          }
        }
        """
        + STATUS_FIELDS,
        {"id": str(member.id)},
    )
    assert mine["myChatUsageLimitStatus"] == UNLIMITED
    assert theirs["user"]["chatUsageLimitStatus"] == UNLIMITED
    assert theirs["user"]["effectiveChatSpendLimit"] == {
        "limitMicros": None,
        "source": "DISABLED",
        "group": None,
        "period": None,
    }


# --- the hierarchy and organization scoping (spec section 11) ---------------------------------


@pytest.fixture
async def scoped(make: LimitFactory) -> dict[str, uuid.UUID]:
    """Orgs A and B; groups A1 $5 and A2 $20 in A, B1 $50 in B; default $100 a month; alice in all."""
    await make.enable(100 * DOLLAR, Period.MONTH)
    a, b = await make.organization("A"), await make.organization("B")
    alice = await make.user("alice", organizations=(a, b))
    await make.limited_group(a, "A1", 5 * DOLLAR, members=(alice,))
    await make.limited_group(a, "A2", 20 * DOLLAR, members=(alice,))
    await make.limited_group(b, "B1", 50 * DOLLAR, members=(alice,))
    return {"alice": alice, "A": a, "B": b}


EFFECTIVE = """
query ($id: ID!, $a: ID, $b: ID, $unknown: ID) {
  user(id: $id) {
    chatSpendLimitMicros
    inA: effectiveChatSpendLimit(organizationId: $a) { limitMicros source group { name } period }
    inB: effectiveChatSpendLimit(organizationId: $b) { limitMicros source group { name } }
    elsewhere: effectiveChatSpendLimit(organizationId: $unknown) { limitMicros source group { name } }
    anywhere: effectiveChatSpendLimit { limitMicros source group { name } }
  }
}
"""


async def test_effective_limits_are_scoped_to_the_organization_asked_about(
    as_owner: GraphQLClient, scoped: dict[str, uuid.UUID]
) -> None:
    variables = {
        "id": str(scoped["alice"]),
        "a": str(scoped["A"]),
        "b": str(scoped["B"]),
        "unknown": str(uuid.uuid4()),
    }
    user = (await as_owner.data(EFFECTIVE, variables))["user"]
    assert user["chatSpendLimitMicros"] is None
    assert user["inA"] == {
        "limitMicros": 5 * DOLLAR,
        "source": "GROUP",
        "group": {"name": "A1"},
        "period": "MONTH",
    }
    assert user["inB"] == {"limitMicros": 50 * DOLLAR, "source": "GROUP", "group": {"name": "B1"}}
    assert user["elsewhere"] == {"limitMicros": 100 * DOLLAR, "source": "DEFAULT", "group": None}
    assert user["anywhere"] == {"limitMicros": 5 * DOLLAR, "source": "GROUP", "group": {"name": "A1"}}


async def test_a_user_override_of_ten_beats_group_a1_over_graphql(
    as_owner: GraphQLClient, make: LimitFactory, scoped: dict[str, uuid.UUID]
) -> None:
    await make.user_override(scoped["alice"], 10 * DOLLAR)
    user = (await as_owner.data(EFFECTIVE, {"id": str(scoped["alice"]), "a": str(scoped["A"])}))["user"]
    assert user["chatSpendLimitMicros"] == 10 * DOLLAR
    assert user["inA"] == {"limitMicros": 10 * DOLLAR, "source": "USER", "group": None, "period": "MONTH"}


SPEND_BY_ORG = """
query ($id: ID!, $a: ID, $b: ID) {
  user(id: $id) {
    inA: chatUsageLimitStatus(organizationId: $a) { limitSource spendLimitMicros currentSpendMicros }
    inB: chatUsageLimitStatus(organizationId: $b) { limitSource spendLimitMicros currentSpendMicros }
    anywhere: chatUsageLimitStatus { limitSource spendLimitMicros currentSpendMicros }
  }
}
"""


async def test_spend_under_a_group_limit_counts_only_that_organization(
    as_owner: GraphQLClient, make: LimitFactory, scoped: dict[str, uuid.UUID]
) -> None:
    await make.spend(scoped["alice"], scoped["A"], 3 * DOLLAR)
    variables = {"id": str(scoped["alice"]), "a": str(scoped["A"]), "b": str(scoped["B"])}
    user = (await as_owner.data(SPEND_BY_ORG, variables))["user"]
    assert user["inB"] == {"limitSource": "GROUP", "spendLimitMicros": 50 * DOLLAR, "currentSpendMicros": 0}
    assert user["inA"] == {
        "limitSource": "GROUP",
        "spendLimitMicros": 5 * DOLLAR,
        "currentSpendMicros": 3 * DOLLAR,
    }
    assert user["anywhere"]["currentSpendMicros"] == 3 * DOLLAR


async def test_spend_under_a_user_override_counts_every_organization(
    as_owner: GraphQLClient, make: LimitFactory, scoped: dict[str, uuid.UUID]
) -> None:
    await make.user_override(scoped["alice"], 10 * DOLLAR)
    await make.spend(scoped["alice"], scoped["A"], 6 * DOLLAR)
    await make.spend(scoped["alice"], scoped["B"], 6 * DOLLAR)
    user = (await as_owner.data(SPEND_BY_ORG, {"id": str(scoped["alice"]), "a": str(scoped["A"])}))["user"]
    assert user["inA"] == {
        "limitSource": "USER",
        "spendLimitMicros": 10 * DOLLAR,
        "currentSpendMicros": 12 * DOLLAR,
    }


async def test_spend_under_the_default_counts_every_organization(
    as_owner: GraphQLClient, make: LimitFactory
) -> None:
    await make.enable(100 * DOLLAR, Period.MONTH)
    a, c = await make.organization("A"), await make.organization("C")
    alice = await make.user("alice", organizations=(a, c))
    await make.spend(alice, a, 30 * DOLLAR)
    await make.spend(alice, c, 40 * DOLLAR)
    user = (await as_owner.data(SPEND_BY_ORG, {"id": str(alice), "a": str(c)}))["user"]
    assert user["inA"] == {
        "limitSource": "DEFAULT",
        "spendLimitMicros": 100 * DOLLAR,
        "currentSpendMicros": 70 * DOLLAR,
    }


# --- the caller's own status ----------------------------------------------------------------------


async def test_my_status_shows_the_usage_bar_for_the_period_asked_about(
    as_member: GraphQLClient, make: LimitFactory, member: User
) -> None:
    await make.enable(10 * DOLLAR, Period.WEEK)
    org = await make.organization("acme")
    await make.join(org, member.id)
    wednesday = datetime(2025, 6, 11, 9, tzinfo=UTC)
    await make.spend(member.id, org, 4 * DOLLAR, at=wednesday)
    data = await as_member.data(MY_STATUS, {"at": "2025-06-11T05:00:00-04:00"})
    assert data["myChatUsageLimitStatus"] == {
        "isLimited": True,
        "limitSource": "DEFAULT",
        "period": "WEEK",
        "spendLimitMicros": 10 * DOLLAR,
        "currentSpendMicros": 4 * DOLLAR,
        "remainingMicros": 6 * DOLLAR,
        "exceeded": False,
        "periodStart": "2025-06-09T00:00:00Z",
        "periodEnd": "2025-06-16T00:00:00Z",
    }


async def test_my_status_defaults_to_the_current_period(as_member: GraphQLClient, make: LimitFactory) -> None:
    await make.enable(DOLLAR, Period.MONTH)
    status = (await as_member.data(MY_STATUS))["myChatUsageLimitStatus"]
    now = datetime.now(UTC)
    assert status["periodStart"] == iso(datetime(now.year, now.month, 1, tzinfo=UTC))


async def test_a_service_token_has_no_status_of_its_own(as_chatd: GraphQLClient) -> None:
    body = await as_chatd.execute(MY_STATUS)
    assert body["data"] is None
    assert codes(body) == ["FORBIDDEN"]


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"org": "not-a-uuid"}, "organizationId must be a UUID"),
        ({"at": "9999-12-31T12:00:00Z"}, "outside the supported range"),
        ({"at": "2025-06-11T09:00:00"}, "time zone"),
    ],
)
async def test_bad_status_arguments_are_bad_user_input(
    as_member: GraphQLClient, variables: dict[str, str], message: str
) -> None:
    body = await as_member.execute(MY_STATUS, variables)
    assert codes(body) == ["BAD_USER_INPUT"]
    assert message in body["errors"][0]["message"]


# --- the admission check ----------------------------------------------------------------------------


async def test_the_check_blocks_at_the_limit_until_the_end_of_the_utc_day(
    as_chatd: GraphQLClient, make: LimitFactory
) -> None:
    await make.enable(100, Period.DAY)
    org = await make.organization("acme")
    alice = await make.user("alice", organizations=(org,))
    await make.spend(alice, org, 100)
    check = (await as_chatd.data(CHECK, {"user": str(alice)}))["chatUsageLimitCheck"]
    tomorrow = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    assert check == {
        "allowed": False,
        "failedOpen": False,
        "status": {
            "limitSource": "DEFAULT",
            "spendLimitMicros": 100,
            "currentSpendMicros": 100,
            "exceeded": True,
            "periodEnd": iso(tomorrow),
        },
        "exceeded": {
            "message": "Chat usage limit exceeded.",
            "spentMicros": 100,
            "limitMicros": 100,
            "resetsAt": iso(tomorrow),
        },
    }


async def test_the_check_allows_spend_below_the_limit(as_chatd: GraphQLClient, make: LimitFactory) -> None:
    await make.enable(100, Period.DAY)
    org = await make.organization("acme")
    alice = await make.user("alice", organizations=(org,))
    await make.spend(alice, org, 99)
    check = (await as_chatd.data(CHECK, {"user": str(alice), "org": str(org)}))["chatUsageLimitCheck"]
    assert (check["allowed"], check["failedOpen"], check["exceeded"]) == (True, False, None)
    assert check["status"]["currentSpendMicros"] == 99


async def test_the_check_of_an_unknown_user_is_not_found(as_chatd: GraphQLClient) -> None:
    body = await as_chatd.execute(CHECK, {"user": str(uuid.uuid4())})
    assert body["data"] is None
    assert codes(body) == ["NOT_FOUND"]


async def test_the_check_refuses_a_malformed_user_id(as_chatd: GraphQLClient) -> None:
    body = await as_chatd.execute(CHECK, {"user": "42"})
    assert codes(body) == ["BAD_USER_INPUT"]


# --- who may read what (spec section 8) ------------------------------------------------------------


async def test_a_member_cannot_read_the_configuration(as_member: GraphQLClient) -> None:
    body = await as_member.execute(CONFIG)
    assert body["data"] is None
    assert codes(body) == ["FORBIDDEN"]


async def test_an_auditor_reads_the_configuration(as_auditor: GraphQLClient) -> None:
    assert (await as_auditor.data(CONFIG))["chatUsageLimitConfig"]["period"] == "MONTH"


async def test_the_chat_daemon_reads_the_configuration(as_chatd: GraphQLClient) -> None:
    assert (await as_chatd.data(CONFIG))["chatUsageLimitConfig"]["enabled"] is False


async def test_a_member_cannot_run_the_check_even_on_themselves(
    as_member: GraphQLClient, member: User
) -> None:
    body = await as_member.execute(CHECK, {"user": str(member.id)})
    assert body["data"] is None
    assert codes(body) == ["FORBIDDEN"]


async def test_an_auditor_cannot_run_the_check(as_auditor: GraphQLClient, member: User) -> None:
    assert codes(await as_auditor.execute(CHECK, {"user": str(member.id)})) == ["FORBIDDEN"]


async def test_an_owner_can_run_the_check(as_owner: GraphQLClient, member: User) -> None:
    check = (await as_owner.data(CHECK, {"user": str(member.id)}))["chatUsageLimitCheck"]
    assert (check["allowed"], check["failedOpen"]) == (True, False)


async def test_a_member_reads_their_own_limit_fields(
    as_member: GraphQLClient, make: LimitFactory, member: User
) -> None:
    await make.enable(DOLLAR, Period.DAY)
    await make.user_override(member.id, 2 * DOLLAR)
    data = await as_member.data(
        "{ viewer { chatSpendLimitMicros effectiveChatSpendLimit { source } chatUsageLimitStatus { spendLimitMicros } } }"
    )
    assert data["viewer"] == {
        "chatSpendLimitMicros": 2 * DOLLAR,
        "effectiveChatSpendLimit": {"source": "USER"},
        "chatUsageLimitStatus": {"spendLimitMicros": 2 * DOLLAR},
    }


async def test_a_member_cannot_read_another_users_limits(
    as_member: GraphQLClient, make: LimitFactory
) -> None:
    other = await make.user("other")
    body = await as_member.execute(
        "query ($id: ID!) { user(id: $id) { chatUsageLimitStatus { isLimited } } }", {"id": str(other)}
    )
    assert body["data"] == {"user": None}
    assert codes(body) == ["FORBIDDEN"]


# --- the admin lists -------------------------------------------------------------------------------

OVERRIDES_PAGE = """
query ($first: Int, $after: String) {
  chatUsageLimitConfig {
    overrides(first: $first, after: $after) {
      totalCount pageInfo { hasNextPage endCursor } nodes { user { username } spendLimitMicros }
    }
  }
}
"""


async def test_overrides_are_paged_in_username_order(as_auditor: GraphQLClient, make: LimitFactory) -> None:
    for i, name in enumerate(["erin", "bob", "dave", "alice", "carol"], start=1):
        await make.user_override(await make.user(name), i * DOLLAR)
    await make.user("frank")
    names, after, pages = [], None, 0
    while True:
        page = (await as_auditor.data(OVERRIDES_PAGE, {"first": 2, "after": after}))["chatUsageLimitConfig"][
            "overrides"
        ]
        pages += 1
        assert page["totalCount"] == 5
        names += [n["user"]["username"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert (names, pages) == (["alice", "bob", "carol", "dave", "erin"], 3)


async def test_a_page_size_beyond_the_cap_is_bad_user_input(as_owner: GraphQLClient) -> None:
    body = await as_owner.execute(OVERRIDES_PAGE, {"first": 501})
    assert codes(body) == ["BAD_USER_INPUT"]


async def test_group_overrides_list_groups_by_name_with_live_human_member_counts(
    as_owner: GraphQLClient, make: LimitFactory
) -> None:
    org = await make.organization("acme")
    human = await make.user("human", organizations=(org,))
    robot = await make.user("robot", is_system=True, organizations=(org,))
    gone = await make.user("gone", organizations=(org,))
    await make.limited_group(org, "team", 5 * DOLLAR, members=(human, robot, gone))
    await make.delete_user(gone)
    await make.group_override(org, 9 * DOLLAR)
    await make.group(org, "no-override", members=(human,))
    groups = (await as_owner.data(CONFIG))["chatUsageLimitConfig"]["groupOverrides"]
    assert groups == {
        "totalCount": 2,
        "nodes": [
            {"group": {"name": "Everyone"}, "memberCount": 1, "spendLimitMicros": 9 * DOLLAR},
            {"group": {"name": "team"}, "memberCount": 1, "spendLimitMicros": 5 * DOLLAR},
        ],
    }


async def test_unpriced_model_count_counts_enabled_models_without_prices(
    as_owner: GraphQLClient, make: LimitFactory
) -> None:
    await make.model("openai", "free-lunch")
    await make.model("openai", "off", enabled=False)
    await make.model("openai", "priced", input_price=1, output_price=2)
    assert (await as_owner.data(CONFIG))["chatUsageLimitConfig"]["unpricedModelCount"] == 1


# --- DataLoaders: statements per page -----------------------------------------------------------------


async def test_a_page_of_100_users_with_limits_runs_as_many_statements_as_a_page_of_10(
    as_owner: GraphQLClient, engine: AsyncEngine, make: LimitFactory
) -> None:
    await make.enable(100 * DOLLAR, Period.MONTH)
    acme = await make.organization("acme")
    team = await make.limited_group(acme, "team", 5 * DOLLAR)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                """
                WITH new AS (
                    INSERT INTO users (username, chat_spend_limit_micros)
                    SELECT 'user' || lpad(i::text, 3, '0'), CASE WHEN i % 3 = 0 THEN i * 1000 END
                    FROM generate_series(1, 120) i RETURNING id
                ), joined AS (
                    INSERT INTO organization_members (organization_id, user_id) SELECT :org, id FROM new
                    RETURNING user_id
                ), chats AS (
                    INSERT INTO chats (owner_id, organization_id) SELECT user_id, :org FROM joined RETURNING id
                )
                INSERT INTO chat_messages (chat_id, role, total_cost_micros) SELECT id, 'assistant', 700 FROM chats
                """
            ),
            {"org": acme},
        )
        await conn.execute(
            text(
                "INSERT INTO group_members (group_id, user_id) SELECT :g, user_id FROM organization_members"
            ),
            {"g": team},
        )
    query = """
    query ($first: Int, $org: ID) {
      users(first: $first) {
        nodes {
          username
          chatSpendLimitMicros
          effectiveChatSpendLimit { limitMicros source group { name } }
          inAcme: effectiveChatSpendLimit(organizationId: $org) { source }
          chatUsageLimitStatus { currentSpendMicros remainingMicros periodEnd }
          lastYear: chatUsageLimitStatus(organizationId: $org, at: "2024-06-01T00:00:00Z") { currentSpendMicros }
        }
      }
    }
    """
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    sizes = {}
    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        for first in (10, 100):
            statements.clear()
            nodes = (await as_owner.data(query, {"first": first, "org": str(acme)}))["users"]["nodes"]
            assert len(nodes) == first
            by_name = {n["username"]: n for n in nodes}
            assert by_name["user001"]["effectiveChatSpendLimit"] == {
                "limitMicros": 5 * DOLLAR,
                "source": "GROUP",
                "group": {"name": "team"},
            }
            assert by_name["user003"]["chatSpendLimitMicros"] == 3000
            assert by_name["user003"]["chatUsageLimitStatus"]["remainingMicros"] == 2300
            assert by_name["user001"]["lastYear"] == {"currentSpendMicros": 0}
            sizes[first] = len(statements)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    # The token check, the page, effective limits (both argument sets in one batch), statuses (both
    # in one batch) and the winning groups by id: none of it grows with the page.
    assert sizes[10] == sizes[100]
    assert sizes[100] <= 5, "\n\n".join(statements)
