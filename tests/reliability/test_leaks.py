"""The leak detector of the reliability suite: it ignores the client's own text echoed back and still
catches the server's. Quick: runs in `make test`, against the in-process app."""

import json

from tests.conftest import GraphQLClient
from tests.reliability.leaks import client_strings, leaks_in

ECHOED = "postgresql+asyncpg"
STATUS_IN_LITERAL = '{ myChatUsageLimitStatus(organizationId: "postgresql+asyncpg") { currentSpendMicros } }'
#: Quoted the GraphQL way ("…") by the validator rather than repr'd ('…') by the resolver.
WRONG_TYPE_LITERAL = '{ users(first: "postgresql+asyncpg") { totalCount } }'
STATUS_IN_VARIABLE = (
    "query S($org: ID) { myChatUsageLimitStatus(organizationId: $org) { currentSpendMicros } }"
)
#: What an unhandled database error would look like if it reached a client.
REAL_LEAK = {
    "data": None,
    "errors": [
        {
            "message": 'asyncpg.exceptions.UniqueViolationError: duplicate key; SQL: SELECT id FROM users WHERE name = "postgresql+asyncpg"',
            "extensions": {"code": "INTERNAL_SERVER_ERROR"},
        }
    ],
}


async def test_an_argument_echoed_in_an_error_is_not_a_leak(as_owner: GraphQLClient) -> None:
    cases: list[tuple[str, dict[str, str]]] = [
        (STATUS_IN_LITERAL, {}),
        (WRONG_TYPE_LITERAL, {}),
        (STATUS_IN_VARIABLE, {"org": ECHOED}),
    ]
    for query, variables in cases:
        response = await as_owner.post(query, variables)
        request = {"query": query, "variables": variables}
        assert ECHOED in "".join(e["message"] for e in response.json()["errors"]), response.text
        # The check would fire on the echo if it did not know what the client sent.
        assert leaks_in(response.text) != [], response.text
        assert leaks_in(response.text, request) == [], response.text


def test_the_servers_own_text_is_a_leak_even_beside_an_echo() -> None:
    request = {"query": STATUS_IN_LITERAL}
    found = leaks_in(json.dumps(REAL_LEAK), request)
    assert [line[: line.index(" reached")] for line in found] == ["'asyncpg'", "'SELECT '"]


def test_a_short_client_string_does_not_hide_a_leak() -> None:
    # Removing "ELECT" or "S" wherever it occurs would have hidden the SELECT below.
    request = {"query": "query Q($a: String) { viewer { id } }", "variables": {"a": "ELECT", "b": ["S"]}}
    assert leaks_in('{"errors": [{"message": "SELECT * FROM users"}]}', request) != []


def test_a_value_returned_whole_is_the_clients_and_plain_text_is_still_checked() -> None:
    request = {"variables": {"input": {"displayName": "  asyncpg fan club"}}}
    assert leaks_in('{"data": {"organization": {"displayName": "asyncpg fan club"}}}', request) == []
    assert leaks_in("Internal Server Error\nTraceback (most recent call last):", request) != []


def test_client_strings_are_the_variables_and_the_query_literals() -> None:
    request = {
        "query": 'query Q($x: ID) { a(s: "one", o: {k: "two", l: ["three"]}) b(t: """four""") }',
        "variables": {"x": "five", "y": [{"z": "six"}], "empty": ""},
    }
    assert client_strings(request) == {"one", "two", "three", "four", "five", "six", "x", "y", "z", "empty"}
    assert client_strings({"query": "{ broken"}) == {"{ broken"}
