"""Schemathesis against the running server: every query and mutation, with generated arguments.

The schema comes from the server's own introspection, as a client would load it; schemathesis
(with hypothesis-graphql) builds valid documents for each root field with random arguments, and
they are sent with an owner's token, so every resolver runs, mutations included. Whatever comes
back must be an answer: a 200 (no 5xx), every error with a code and none of them masked
(INTERNAL_SERVER_ERROR is an unexpected exception on the server), nothing a client must not see.
Bounded: EXAMPLES documents per root field, about 1,000 requests in all.
"""

import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.core.result import Err, Ok
from schemathesis.graphql import nodes

from tests.reliability.service import Live, assert_no_leak

pytestmark = pytest.mark.reliability

EXAMPLES = 25
MAX_SAFE = 2**53 - 1


def register_scalars(known_ids: list[str]) -> None:
    """Strategies for the schema's scalars: ids that exist, random UUIDs and junk; Micros; DateTime."""
    schemathesis.graphql.scalar(
        "ID",
        st.one_of(st.sampled_from(known_ids), st.uuids().map(str), st.text(max_size=40)).map(nodes.String),
    )
    schemathesis.graphql.scalar(
        "Micros", st.one_of(st.integers(-MAX_SAFE, MAX_SAFE), st.integers(0, 10**9)).map(nodes.Int)
    )
    schemathesis.graphql.scalar(
        "DateTime",
        st.one_of(
            st.datetimes().map(lambda d: d.isoformat() + "Z"),
            st.text(max_size=30),
        ).map(nodes.String),
    )


def problems(response: requests.Response, request: dict[str, Any]) -> list[str]:
    found = []
    # Well-formed POSTs with a valid token: even refusals are 200 with errors in the body.
    if response.status_code != 200:
        found.append(f"status {response.status_code}")
    try:
        # The client's own strings echoed back (a rejected argument quoted in an error) are no leak.
        assert_no_leak(response.text, request)
    except AssertionError as leak:
        found.append(str(leak))
    try:
        body: dict[str, Any] = response.json()
    except ValueError:
        return [*found, f"not JSON: {response.text[:200]}"]
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        if code in (None, "INTERNAL_SERVER_ERROR"):
            found.append(f"error {code}: {error.get('message')}")
    return found


def test_generated_queries_and_mutations_get_answers_never_5xx_or_masked_errors(
    live: Live, record_property: Callable[[str, object], None]
) -> None:
    # Not the owner's id: deleteUser on it would revoke the token the rest of the run uses.
    register_scalars([live.seeded.member_id, str(uuid.uuid4())])
    headers = {"Authorization": f"Bearer {live.seeded.owner_token}"}
    url = f"{live.server.url}/graphql"
    schema = schemathesis.graphql.from_url(url, headers=headers, timeout=15)
    failures: dict[str, str] = {}
    sent = 0
    session = requests.Session()

    results = list(schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results), [result.err() for result in results if isinstance(result, Err)]
    assert len(operations) > 30, "introspection found too few root fields"
    for operation in operations:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            phases=[Phase.generate],
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            nonlocal sent
            response = case.call(base_url=url, headers=headers, session=session, timeout=15)
            sent += 1
            found = problems(response, {"query": case.body})
            assert not found, f"{found}\nquery: {case.body}"

        try:
            run()
        except AssertionError as failure:
            failures[operation.label] = str(failure)[:2000]

    session.close()
    assert live.server.process is not None and live.server.process.poll() is None, "the server died"
    assert not failures, "\n\n".join(f"{label}: {text}" for label, text in failures.items())
    record_property("figures", {"requests": sent, "root_fields": len(operations)})
