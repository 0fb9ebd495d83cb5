"""One structured log line per request to /graphql, with no secret in it."""

import json
import logging
import re

import httpx
import pytest

from spendlimits.logs import JsonFormatter, TextFormatter
from tests.conftest import GraphQLClient

SECRET_VARIABLE = "hunter2-do-not-log"


def request_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "spendlimits.request"]


def assert_no_secret(record: logging.LogRecord, *secrets: str) -> None:
    for text in (TextFormatter().format(record), JsonFormatter().format(record)):
        for secret in secrets:
            assert secret not in text


async def test_a_request_logs_one_line_with_operation_principal_outcome_and_duration(
    as_owner: GraphQLClient, caplog: pytest.LogCaptureFixture
) -> None:
    assert as_owner.token is not None
    caplog.set_level(logging.INFO, logger="spendlimits.request")
    await as_owner.data(
        "query LoggedSearch($search: String) { users(search: $search) { totalCount } }",
        {"search": SECRET_VARIABLE},
    )

    (record,) = request_records(caplog)
    fields = record.fields  # type: ignore[attr-defined]  # set by the log call's extra=
    assert fields["operation"] == "LoggedSearch"
    assert fields["principal"] == "user"
    assert fields["outcome"] == "ok"
    assert fields["status"] == 200
    assert fields["duration_ms"] >= 0
    assert_no_secret(record, as_owner.token, SECRET_VARIABLE)
    line = json.loads(JsonFormatter().format(record))
    assert {"operation", "principal", "outcome", "status", "duration_ms"} <= line.keys()


async def test_every_answer_says_the_servers_own_time_in_server_timing(
    as_chatd: GraphQLClient, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A client tells the server's time from its own and the network's (issue #10: a load generator
    measured 3-6 s for answers the server gave in 1 s); 401s, answered before GraphQL, carry it too."""
    caplog.set_level(logging.INFO, logger="spendlimits.request")
    answers = [
        await as_chatd.post("{ viewer { id } }"),
        await client.post("/graphql", json={"query": "{ __typename }"}),
    ]
    assert [a.status_code for a in answers] == [200, 401]
    for answer, record in zip(answers, request_records(caplog), strict=True):
        match = re.fullmatch(r"app;dur=([0-9]+\.[0-9])", answer.headers["server-timing"])
        assert match is not None, answer.headers
        # The same figure as the log line's, taken a moment earlier (before the log call).
        assert 0 <= float(match[1]) <= record.fields["duration_ms"]  # type: ignore[attr-defined]  # set by the log call's extra=


async def test_an_error_logs_its_codes(as_owner: GraphQLClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="spendlimits.request")
    await as_owner.execute("query Broken { viewer { noSuchField } }")
    (record,) = request_records(caplog)
    assert record.fields["outcome"] == "error"  # type: ignore[attr-defined]  # set by the log call's extra=
    assert record.fields["error_codes"] == ["GRAPHQL_VALIDATION_FAILED"]  # type: ignore[attr-defined]  # set by the log call's extra=


async def test_a_service_token_is_logged_as_a_service(
    as_chatd: GraphQLClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="spendlimits.request")
    await as_chatd.data("{ viewer { id } }")
    (record,) = request_records(caplog)
    assert record.fields["principal"] == "service"  # type: ignore[attr-defined]  # set by the log call's extra=
    assert record.fields["operation"] == "anonymous"  # type: ignore[attr-defined]  # set by the log call's extra=


async def test_a_rejected_token_is_logged_as_401_without_the_token(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="spendlimits.request")
    wrong = "sl_wrong_secret_that_must_not_be_logged"
    response = await client.post(
        "/graphql", json={"query": "{ viewer { id } }"}, headers={"Authorization": f"Bearer {wrong}"}
    )
    assert response.status_code == 401
    (record,) = request_records(caplog)
    fields = record.fields  # type: ignore[attr-defined]  # set by the log call's extra=
    assert (fields["principal"], fields["outcome"], fields["status"]) == ("anonymous", "unauthenticated", 401)
    assert_no_secret(record, wrong)


async def test_the_graphiql_page_is_not_logged_as_a_graphql_request(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="spendlimits.request")
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert request_records(caplog) == []
