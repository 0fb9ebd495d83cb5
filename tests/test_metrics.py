"""/metrics, scraped as Prometheus would after real requests.

The registry is the process's own, shared by every test: assertions compare a scrape taken
before the requests with one taken after.
"""

from dataclasses import dataclass

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from spendlimits import metrics
from spendlimits.directory.users import User
from tests.conftest import GraphQLClient


async def scrape(http: httpx.AsyncClient, token: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await http.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(scraped: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return scraped.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_need_a_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/metrics")
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    bad = await client.get("/metrics", headers={"Authorization": "Bearer sl_not_a_token"})
    assert bad.status_code == 401


async def test_members_may_not_read_metrics(as_member: GraphQLClient) -> None:
    response = await as_member.http.get("/metrics", headers={"Authorization": f"Bearer {as_member.token}"})
    assert response.status_code == 403
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_auditors_and_services_may_read_metrics(
    as_auditor: GraphQLClient, as_chatd: GraphQLClient
) -> None:
    for caller in (as_auditor, as_chatd):
        assert caller.token is not None
        await scrape(caller.http, caller.token)


async def test_scrape_counts_requests_by_operation_and_outcome_and_sql_statements(
    client: httpx.AsyncClient, as_owner: GraphQLClient
) -> None:
    assert as_owner.token is not None
    before = await scrape(client, as_owner.token)

    for _ in range(2):
        await as_owner.data("query MetricsViewer { viewer { username } }")
    await as_owner.execute("query MetricsBroken { viewer { noSuchField } }")
    await client.post("/graphql", json={"query": "query MetricsDenied { viewer { id } }"})

    after = await scrape(client, as_owner.token)
    requests = "spendlimits_graphql_requests_total"
    assert value(after, requests, operation="MetricsViewer", outcome="ok") == 2
    assert value(after, requests, operation="MetricsBroken", outcome="error") == 1
    # A 401 is answered before the document is read, so its operation is not known.
    assert (
        value(after, requests, operation="-", outcome="unauthenticated")
        - value(before, requests, operation="-", outcome="unauthenticated")
        == 1
    )
    latency = "spendlimits_graphql_request_duration_seconds_count"
    assert value(after, latency, operation="MetricsViewer") == 2
    # Each request verified its token and read the viewer: a few statements, each timed.
    statements = value(after, "spendlimits_db_statements_total") - value(
        before, "spendlimits_db_statements_total"
    )
    timed = value(after, "spendlimits_db_statement_duration_seconds_count") - value(
        before, "spendlimits_db_statement_duration_seconds_count"
    )
    assert statements >= 5 and timed == statements
    assert value(after, "spendlimits_db_pool_limit") > 0
    assert ("spendlimits_db_pool_connections", (("state", "checked_out"),)) in after
    assert ("spendlimits_db_pool_connections", (("state", "idle"),)) in after


async def test_scrape_shows_every_check_outcome(client: httpx.AsyncClient, as_owner: GraphQLClient) -> None:
    assert as_owner.token is not None
    before = await scrape(client, as_owner.token)
    metrics.record_check("blocked")
    after = await scrape(client, as_owner.token)
    checks = "spendlimits_check_outcomes_total"
    for outcome in ("allowed", "blocked", "failed_open", "failed_closed"):
        assert (checks, (("outcome", outcome),)) in after
    assert value(after, checks, outcome="blocked") - value(before, checks, outcome="blocked") == 1


@dataclass(frozen=True)
class Decision:
    allowed: bool
    failed_open: bool = False
    failed_closed: bool = False


@pytest.mark.parametrize(
    ("decision", "outcome"),
    [
        (Decision(allowed=True), "allowed"),
        (Decision(allowed=False), "blocked"),
        (Decision(allowed=True, failed_open=True), "failed_open"),
        (Decision(allowed=False, failed_closed=True), "failed_closed"),
    ],
)
def test_check_outcome_names_the_decision(decision: Decision, outcome: str) -> None:
    assert metrics.check_outcome(decision) == outcome


def test_operation_labels_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "_operation_labels", set())
    monkeypatch.setattr(metrics, "MAX_OPERATION_LABELS", 2)
    assert metrics.operation_label("First") == "First"
    assert metrics.operation_label("Second") == "Second"
    assert metrics.operation_label("Third") == "other"
    assert metrics.operation_label("First") == "First"
    assert metrics.operation_name("bad name\n") == "invalid"
    assert metrics.operation_name("x" * 101) == "invalid"
    assert metrics.operation_name(None) == "anonymous"


async def test_an_admission_check_is_counted_by_its_outcome(
    client: httpx.AsyncClient, as_owner: GraphQLClient, as_chatd: GraphQLClient, owner: User
) -> None:
    assert as_owner.token is not None
    before = await scrape(client, as_owner.token)
    data = await as_chatd.data(
        "query Check($userId: ID!) { chatUsageLimitCheck(userId: $userId) { allowed } }",
        {"userId": str(owner.id)},
    )
    assert data["chatUsageLimitCheck"]["allowed"] is True
    after = await scrape(client, as_owner.token)
    checks = "spendlimits_check_outcomes_total"
    assert value(after, checks, outcome="allowed") - value(before, checks, outcome="allowed") == 1
