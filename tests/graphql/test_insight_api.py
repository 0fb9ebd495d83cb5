"""Insight over HTTP: spend history, the ranking, the audit log, warning thresholds, and
configuration updates that keep what they do not mention; who may read what."""

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.directory.users import User
from spendlimits.limits.periods import Period
from tests.conftest import GraphQLClient
from tests.limits.factories import LimitFactory


@pytest.fixture
def make(engine: AsyncEngine) -> LimitFactory:
    return LimitFactory(engine)


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors") or []]


JUNE = {"from": "2025-06-01T00:00:00Z", "to": "2025-06-08T00:00:00Z"}

USER_HISTORY = """
query ($id: ID!, $from: DateTime!, $to: DateTime!, $bucket: ChatSpendBucket, $org: ID) {
  user(id: $id) {
    chatSpendHistory(from: $from, to: $to, bucket: $bucket, organizationId: $org) {
      bucket totalMicros points { start end spendMicros }
    }
  }
}
"""

ORG_HISTORY = """
query ($id: ID!, $from: DateTime!, $to: DateTime!, $bucket: ChatSpendBucket) {
  organization(id: $id) { chatSpendHistory(from: $from, to: $to, bucket: $bucket) { totalMicros points { spendMicros } } }
}
"""

GROUP_HISTORY = """
query ($id: ID!, $from: DateTime!, $to: DateTime!) {
  group(id: $id) { chatSpendHistory(from: $from, to: $to, bucket: WEEK) { totalMicros points { start spendMicros } } }
}
"""


async def test_a_users_history_has_every_bucket_zeros_included(
    as_owner: GraphQLClient, make: LimitFactory, member: User
) -> None:
    org = await make.organization("acme")
    await make.join(org, member.id)
    await make.spend(member.id, org, 40, at=datetime(2025, 6, 3, 23, 59, tzinfo=UTC))
    await make.spend(member.id, org, None, at=datetime(2025, 6, 4, tzinfo=UTC))
    data = await as_owner.data(USER_HISTORY, {"id": str(member.id), **JUNE})
    series = data["user"]["chatSpendHistory"]
    assert series["bucket"] == "DAY" and series["totalMicros"] == 40
    assert [p["spendMicros"] for p in series["points"]] == [0, 0, 40, 0, 0, 0, 0]
    assert series["points"][0] == {
        "start": "2025-06-01T00:00:00Z",
        "end": "2025-06-02T00:00:00Z",
        "spendMicros": 0,
    }
    other_org = await make.organization("other")
    scoped = await as_owner.data(USER_HISTORY, {"id": str(member.id), "org": str(other_org), **JUNE})
    assert scoped["user"]["chatSpendHistory"]["totalMicros"] == 0
    monthly = await as_owner.data(
        USER_HISTORY,
        {
            "id": str(member.id),
            "bucket": "MONTH",
            "from": "2025-05-31T12:00:00Z",
            "to": "2025-06-02T00:00:00Z",
        },
    )
    assert [p["start"][:10] for p in monthly["user"]["chatSpendHistory"]["points"]] == [
        "2025-05-01",
        "2025-06-01",
    ]


async def test_history_of_more_than_400_buckets_or_a_reversed_range_is_bad_user_input(
    as_owner: GraphQLClient, owner: User
) -> None:
    too_long = {"id": str(owner.id), "from": "2020-01-01T00:00:00Z", "to": "2021-06-01T00:00:00Z"}
    assert codes(await as_owner.execute(USER_HISTORY, too_long)) == ["BAD_USER_INPUT"]
    assert codes(await as_owner.execute(USER_HISTORY, {**too_long, "bucket": "WEEK"})) == []
    reversed_range = {"id": str(owner.id), "from": JUNE["to"], "to": JUNE["from"]}
    assert codes(await as_owner.execute(USER_HISTORY, reversed_range)) == ["BAD_USER_INPUT"]


async def test_who_may_read_which_history(
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    as_owner: GraphQLClient,
    as_auditor: GraphQLClient,
    as_member: GraphQLClient,
    as_chatd: GraphQLClient,
    member: User,
    owner: User,
    make: LimitFactory,
) -> None:
    org = await make.organization("acme")
    await make.join(org, member.id)
    await make.spend(member.id, org, 5, at=datetime(2025, 6, 2, tzinfo=UTC))
    mine = {"id": str(member.id), **JUNE}
    for caller in (as_owner, as_auditor, as_member, as_chatd):
        assert (await caller.data(USER_HISTORY, mine))["user"]["chatSpendHistory"]["totalMicros"] == 5
    other = await as_member.execute(USER_HISTORY, {"id": str(owner.id), **JUNE})
    assert codes(other) == ["FORBIDDEN"]
    for query in (ORG_HISTORY, GROUP_HISTORY):
        variables = {"id": str(org), **JUNE}
        for caller in (as_owner, as_auditor):
            assert codes(await caller.execute(query, variables)) == []
        for caller in (as_member, as_chatd):
            assert codes(await caller.execute(query, variables)) == ["FORBIDDEN"]
    found = await as_auditor.data(ORG_HISTORY, {"id": str(org), **JUNE, "bucket": "MONTH"})
    assert found["organization"]["chatSpendHistory"]["totalMicros"] == 5
    group = await as_owner.data(GROUP_HISTORY, {"id": str(org), **JUNE})
    assert [p["start"][:10] for p in group["group"]["chatSpendHistory"]["points"]] == [
        "2025-05-26",
        "2025-06-02",
    ]


def statements() -> float:
    return REGISTRY.get_sample_value("spendlimits_db_statements_total") or 0.0


PAGE_HISTORY = """
query ($first: Int!) {
  users(first: $first) {
    nodes { username chatSpendHistory(from: "2025-06-01T00:00:00Z", to: "2025-07-01T00:00:00Z") { totalMicros } }
  }
}
"""


async def test_a_page_of_users_with_30_day_histories_is_a_constant_number_of_statements(
    as_owner: GraphQLClient, make: LimitFactory
) -> None:
    org = await make.organization("acme")
    for i in range(100):
        user = await make.user(f"user{i:03}", organizations=(org,))
        if i % 10 == 0:
            await make.spend(user, org, i + 1, at=datetime(2025, 6, 1 + i % 30, tzinfo=UTC))
    counts = []
    for first in (10, 100):
        before = statements()
        data = await as_owner.data(PAGE_HISTORY, {"first": first})
        counts.append(statements() - before)
        assert len(data["users"]["nodes"]) == first
    # The token, the page of users (with its count), the histories: however many users.
    assert counts[0] == counts[1] and 2 <= counts[1] <= 5, counts
    totals = {n["username"]: n["chatSpendHistory"]["totalMicros"] for n in data["users"]["nodes"]}
    assert totals["user000"] == 1 and totals["user090"] == 91 and totals["user001"] == 0


RANKING = """
query ($org: ID, $order: ChatSpendRankingOrder, $min: Float, $at: DateTime, $first: Int, $after: String) {
  chatSpendRanking(organizationId: $org, orderBy: $order, minShareOfLimit: $min, at: $at, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { user { username } shareOfLimit status { currentSpendMicros spendLimitMicros limitSource warningThresholdPercent } }
  }
}
"""


async def test_the_ranking_over_http_for_every_role(
    as_owner: GraphQLClient,
    as_auditor: GraphQLClient,
    as_member: GraphQLClient,
    as_chatd: GraphQLClient,
    make: LimitFactory,
) -> None:
    org = await make.organization("acme")
    june = datetime(2025, 6, 10, tzinfo=UTC)
    await make.enable(100, Period.MONTH)
    for name, cost in (("ann", 95), ("ben", 80), ("cat", 10)):
        user = await make.user(name, organizations=(org,))
        await make.spend(user, org, cost, at=june)
    ghost = await make.user("ghost", organizations=(org,))
    await make.spend(ghost, org, 500, at=june)
    await make.delete_user(ghost)
    variables = {"at": "2025-06-20T00:00:00Z", "order": "SHARE_OF_LIMIT_DESC", "min": 0.75, "first": 1}
    page = (await as_auditor.data(RANKING, variables))["chatSpendRanking"]
    assert page["totalCount"] == 2 and page["pageInfo"]["hasNextPage"]
    assert page["nodes"] == [
        {
            "user": {"username": "ann"},
            "shareOfLimit": 0.95,
            "status": {
                "currentSpendMicros": 95,
                "spendLimitMicros": 100,
                "limitSource": "DEFAULT",
                "warningThresholdPercent": 90,
            },
        }
    ]
    following = await as_owner.data(RANKING, {**variables, "after": page["pageInfo"]["endCursor"]})
    assert [n["user"]["username"] for n in following["chatSpendRanking"]["nodes"]] == ["ben"]
    assert following["chatSpendRanking"]["nodes"][0]["status"]["warningThresholdPercent"] == 75
    everyone = await as_owner.data(RANKING, {"at": "2025-06-20T00:00:00Z", "org": str(org)})
    assert [n["user"]["username"] for n in everyone["chatSpendRanking"]["nodes"]][:3] == ["ann", "ben", "cat"]
    for caller in (as_member, as_chatd):
        assert codes(await caller.execute(RANKING, {})) == ["FORBIDDEN"]
    assert codes(await as_owner.execute(RANKING, {"min": -1})) == ["BAD_USER_INPUT"]


CHANGES = """
query ($kind: ChatUsageLimitChangeKind, $user: ID, $group: ID) {
  chatUsageLimitChanges(kind: $kind, userId: $user, groupId: $group) {
    totalCount
    nodes {
      kind actor { username } actorService user { username } group { name }
      oldSpendLimitMicros newSpendLimitMicros oldEnabled newEnabled oldPeriod newPeriod
    }
  }
}
"""

UPDATE_CONFIG = """
mutation ($input: UpdateChatUsageLimitConfigInput!) {
  updateChatUsageLimitConfig(input: $input) {
    config { enabled spendLimitMicros period enforcementMode warningThresholdsPercent }
    errors { code message field }
  }
}
"""

UPSERT = """
mutation ($user: ID!, $limit: Micros) {
  upsertChatUsageLimitOverride(input: {userId: $user, spendLimitMicros: $limit}) { errors { code } }
}
"""

GROUP_UPSERT = """
mutation ($group: ID!, $limit: Micros) {
  upsertChatUsageLimitGroupOverride(input: {groupId: $group, spendLimitMicros: $limit}) { errors { code } }
}
"""

DELETES = """
mutation ($user: ID!, $group: ID!) {
  deleteChatUsageLimitOverride(input: {userId: $user}) { errors { code } }
  deleteChatUsageLimitGroupOverride(input: {groupId: $group}) { errors { code } }
}
"""


async def test_every_limit_mutation_is_in_the_audit_log_with_its_actor_and_refusals_are_not(
    as_owner: GraphQLClient,
    as_auditor: GraphQLClient,
    as_member: GraphQLClient,
    as_chatd: GraphQLClient,
    make: LimitFactory,
    member: User,
) -> None:
    org = await make.organization("acme")
    await as_owner.data(UPDATE_CONFIG, {"input": {"spendLimitMicros": 100, "period": "WEEK"}})
    await as_owner.data(UPSERT, {"user": str(member.id), "limit": 50})
    await as_owner.data(GROUP_UPSERT, {"group": str(org), "limit": 70})
    await as_owner.data(DELETES, {"user": str(member.id), "group": str(org)})
    # Refused: a bad value, a missing override, a missing group, a bad config: nothing recorded.
    refused = await as_owner.data(UPSERT, {"user": str(member.id), "limit": 0})
    assert refused["upsertChatUsageLimitOverride"]["errors"] == [{"code": "INVALID_SPEND_LIMIT"}]
    again = await as_owner.data(DELETES, {"user": str(member.id), "group": str(org)})
    assert [v["errors"][0]["code"] for v in again.values()] == ["OVERRIDE_NOT_FOUND", "OVERRIDE_NOT_FOUND"]
    await as_owner.data(GROUP_UPSERT, {"group": str(uuid.uuid4()), "limit": 5})
    await as_owner.data(UPDATE_CONFIG, {"input": {"spendLimitMicros": 5}})

    log = (await as_auditor.data(CHANGES))["chatUsageLimitChanges"]
    assert log["totalCount"] == 5
    assert [(n["kind"], n["oldSpendLimitMicros"], n["newSpendLimitMicros"]) for n in log["nodes"]] == [
        ("GROUP_OVERRIDE", 70, None),
        ("USER_OVERRIDE", 50, None),
        ("GROUP_OVERRIDE", None, 70),
        ("USER_OVERRIDE", None, 50),
        ("CONFIG", None, 100),
    ]
    assert all(n["actor"] == {"username": "owner"} and n["actorService"] is None for n in log["nodes"])
    config_change = log["nodes"][-1]
    assert (config_change["oldEnabled"], config_change["newEnabled"]) == (False, True)
    assert (config_change["oldPeriod"], config_change["newPeriod"]) == ("MONTH", "WEEK")
    assert log["nodes"][0]["group"] == {"name": "Everyone"} and log["nodes"][1]["user"] == {
        "username": "member"
    }

    by_user = (await as_owner.data(CHANGES, {"user": str(member.id)}))["chatUsageLimitChanges"]
    assert by_user["totalCount"] == 2
    by_kind = (await as_owner.data(CHANGES, {"kind": "CONFIG"}))["chatUsageLimitChanges"]
    assert by_kind["totalCount"] == 1
    combined = (await as_owner.data(CHANGES, {"kind": "CONFIG", "group": str(org)}))["chatUsageLimitChanges"]
    assert combined["totalCount"] == 0
    for caller in (as_member, as_chatd):
        assert codes(await caller.execute(CHANGES)) == ["FORBIDDEN"]


CONFIG = (
    "{ chatUsageLimitConfig { enabled spendLimitMicros period enforcementMode warningThresholdsPercent } }"
)


async def config_after(as_owner: GraphQLClient, update: dict[str, Any]) -> dict[str, Any]:
    result = (await as_owner.data(UPDATE_CONFIG, {"input": update}))["updateChatUsageLimitConfig"]
    assert result["errors"] == [], result["errors"]
    stored = (await as_owner.data(CONFIG))["chatUsageLimitConfig"]
    assert stored == result["config"]
    return stored


async def test_a_config_update_keeps_every_field_it_does_not_mention(as_owner: GraphQLClient) -> None:
    start = await config_after(as_owner, {"spendLimitMicros": 5_000_000, "period": "WEEK"})
    assert (start["enabled"], start["spendLimitMicros"], start["period"]) == (True, 5_000_000, "WEEK")
    for update in ({}, {"enforcementMode": "FAIL_CLOSED"}, {"warningThresholdsPercent": [50, 80]}):
        kept = await config_after(as_owner, update)
        assert (kept["enabled"], kept["spendLimitMicros"], kept["period"]) == (True, 5_000_000, "WEEK")
    assert kept["enforcementMode"] == "FAIL_CLOSED" and kept["warningThresholdsPercent"] == [50, 80]
    # An unset variable is an omitted field, not a null one.
    via_variable = await as_owner.data(
        "mutation ($l: Micros) { updateChatUsageLimitConfig(input: {spendLimitMicros: $l}) { config { enabled } } }"
    )
    assert via_variable["updateChatUsageLimitConfig"]["config"] == {"enabled": True}


async def test_an_explicit_null_limit_switches_off_and_keeps_the_stored_period_unless_given(
    as_owner: GraphQLClient,
) -> None:
    await config_after(as_owner, {"spendLimitMicros": 5_000_000, "period": "DAY"})
    off = await config_after(as_owner, {"spendLimitMicros": None})
    assert (off["enabled"], off["spendLimitMicros"], off["period"]) == (False, None, "DAY")
    off_weekly = await config_after(as_owner, {"spendLimitMicros": None, "period": "WEEK"})
    assert (off_weekly["enabled"], off_weekly["period"]) == (False, "WEEK")


async def test_a_limit_without_a_period_and_bad_thresholds_are_refused_and_change_nothing(
    as_owner: GraphQLClient,
) -> None:
    before = (await as_owner.data(CONFIG))["chatUsageLimitConfig"]
    assert before["warningThresholdsPercent"] == [75, 90]
    cases = [
        ({"spendLimitMicros": 5}, "INVALID_PERIOD", ["input", "period"]),
        ({"warningThresholdsPercent": [0]}, "INVALID_INPUT", ["input", "warningThresholdsPercent"]),
        ({"warningThresholdsPercent": [50, 50]}, "INVALID_INPUT", ["input", "warningThresholdsPercent"]),
        (
            {"warningThresholdsPercent": [1, 2, 3, 4, 5, 6]},
            "INVALID_INPUT",
            ["input", "warningThresholdsPercent"],
        ),
        (
            {"spendLimitMicros": 5, "period": "DAY", "warningThresholdsPercent": [100]},
            "INVALID_INPUT",
            ["input", "warningThresholdsPercent"],
        ),
    ]
    for update, code, field in cases:
        result = (await as_owner.data(UPDATE_CONFIG, {"input": update}))["updateChatUsageLimitConfig"]
        assert result["config"] is None
        assert [(e["code"], e["field"]) for e in result["errors"]] == [(code, field)]
    assert (await as_owner.data(CONFIG))["chatUsageLimitConfig"] == before
    assert (await as_owner.data(CHANGES))["chatUsageLimitChanges"]["totalCount"] == 0


STATUS = "{ myChatUsageLimitStatus { currentSpendMicros exceeded warningThresholdPercent } }"


async def test_every_status_carries_the_highest_warning_threshold_reached(
    as_member: GraphQLClient, member: User, make: LimitFactory
) -> None:
    org = await make.organization("acme")
    await make.join(org, member.id)
    assert (await as_member.data(STATUS))["myChatUsageLimitStatus"]["warningThresholdPercent"] is None
    await make.enable(100, Period.DAY)
    expected = [(74, None), (1, 75), (14, 75), (1, 90), (20, 90)]
    for cost, threshold in expected:
        await make.spend(member.id, org, cost)
        status = (await as_member.data(STATUS))["myChatUsageLimitStatus"]
        assert status["warningThresholdPercent"] == threshold, status
    assert status["exceeded"] is True
