"""Hand-written hostile and malformed requests against the running server (spec section 9).

Each gets a clear answer: a 4xx status with a message, or a GraphQL error with a code. Never a 5xx,
never a dropped connection, never a trace, SQL or driver name in the body. Found by this suite and
fixed: JSON nested 100,000 deep, bytes that are not UTF-8, integers of 5,000 digits and bodies that
are JSON but not an object were 500s; NUL characters and unpaired surrogates in strings were masked
INTERNAL_SERVER_ERRORs.
"""

import json
import uuid
from typing import Any

import httpx
import pytest

from tests.reliability.service import CLIENT_TIMEOUT, Client, Live, assert_no_leak, chats_of

pytestmark = pytest.mark.reliability

VIEWER = "{ viewer { id } }"
SEARCH = "query Search($s: String) { users(search: $s) { totalCount } }"
JSON = {"Content-Type": "application/json"}


def body(payload: bytes) -> dict[str, Any]:
    return {"content": payload, "headers": JSON}


def query(document: str, **extra: object) -> dict[str, Any]:
    return {"content": json.dumps({"query": document, **extra}).encode(), "headers": JSON}


async def send(live: Live, method: str, request: dict[str, Any]) -> httpx.Response:
    """One request on a connection of its own, as the owner unless the case sets Authorization."""
    headers = {"Authorization": f"Bearer {live.seeded.owner_token}", **request.get("headers", {})}
    async with httpx.AsyncClient(base_url=live.server.url, timeout=CLIENT_TIMEOUT) as http:
        response = await http.request(method, "/graphql", **{**request, "headers": headers})
    assert response.status_code < 500, response.text
    assert_no_leak(response.text)
    return response


def codes(response: httpx.Response) -> list[str]:
    return [e["extensions"]["code"] for e in response.json()["errors"]]


REFUSED_BY_HTTP = [
    ("invalid UTF-8", "POST", body(b'{"query": "{ viewer { id \xff\xfe } }"}'), 400, "Unable to parse"),
    ("not JSON", "POST", body(b"not json"), 400, "Unable to parse"),
    ("empty body", "POST", body(b""), 400, "Unable to parse"),
    ("JSON null", "POST", body(b"null"), 400, "Expected a JSON object"),
    ("JSON number", "POST", body(b"42"), 400, "Expected a JSON object"),
    ("JSON string", "POST", body(b'"{ viewer { id } }"'), 400, "Expected a JSON object"),
    (
        "JSON nested 100,000 deep",
        "POST",
        body(b'{"query": "{ viewer { id } }", "variables": {"v": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}"),
        400,
        "Unable to parse",
    ),
    (
        "an integer of 5,000 digits",
        "POST",
        body(b'{"query": "{ viewer { id } }", "variables": {"v": ' + b"9" * 5000 + b"}}"),
        400,
        "Unable to parse",
    ),
    ("query not a string", "POST", {"json": {"query": 42}}, 400, "`query` must be a string"),
    ("no query", "POST", {"json": {"variables": {}}}, 400, "No GraphQL query"),
    (
        "variables not an object",
        "POST",
        {"json": {"query": VIEWER, "variables": [1]}},
        400,
        "`variables` must be",
    ),
    (
        "unknown operation name",
        "POST",
        {"json": {"query": VIEWER, "operationName": "Nope"}},
        400,
        "Unknown operation",
    ),
    ("batch array", "POST", {"json": [{"query": VIEWER}, {"query": VIEWER}]}, 400, "Batching is not enabled"),
    (
        "text/plain",
        "POST",
        {"content": b'{"query": "{ viewer { id } }"}', "headers": {"Content-Type": "text/plain"}},
        400,
        "Unsupported content type",
    ),
    (
        "application/xml",
        "POST",
        {"content": b"<query/>", "headers": {"Content-Type": "application/xml"}},
        400,
        "Unsupported content type",
    ),
    ("form", "POST", {"data": {"query": VIEWER}}, 400, "Unsupported content type"),
    (
        "multipart",
        "POST",
        {"files": {"operations": (None, json.dumps({"query": VIEWER}))}},
        400,
        "Unsupported content type",
    ),
    (
        "no content type",
        "POST",
        {"content": json.dumps({"query": VIEWER}).encode()},
        400,
        "Unsupported content type",
    ),
    (
        "mutation over GET",
        "GET",
        {"params": {"query": 'mutation { createOrganization(input: {name: "viaget"}) { errors { code } } }'}},
        405,
        "mutations are not allowed when using GET",
    ),
    (
        "GET with variables not JSON",
        "GET",
        {"params": {"query": VIEWER, "variables": "{nope"}},
        400,
        "Unable to parse",
    ),
    ("PUT", "PUT", {"json": {"query": VIEWER}}, 405, "only supports GET and POST"),
    ("DELETE", "DELETE", {}, 405, "only supports GET and POST"),
]


@pytest.mark.parametrize(
    ("method", "request_", "status", "message"),
    [pytest.param(*case[1:], id=case[0]) for case in REFUSED_BY_HTTP],
)
async def test_a_malformed_request_gets_a_4xx_with_a_clear_message(
    live: Live, method: str, request_: dict[str, Any], status: int, message: str
) -> None:
    response = await send(live, method, request_)
    assert response.status_code == status
    # The one shape of every error answer (docs/api.md).
    [error] = response.json()["errors"]
    assert message in error["message"] and set(error["extensions"]) == {"code"}


@pytest.mark.parametrize(
    "request_",
    [
        pytest.param(query("{ viewer { " + "id " * 500_000 + "} }"), id="1.5 MB document"),
        pytest.param(query(SEARCH, variables={"s": "x" * 1_000_000}), id="1 MB of variables"),
    ],
)
async def test_a_body_over_the_size_limit_is_413_with_a_code(live: Live, request_: dict[str, Any]) -> None:
    response = await send(live, "POST", request_)
    assert response.status_code == 413
    assert codes(response) == ["BAD_USER_INPUT"]


async def test_variables_just_under_the_size_limit_are_served(live: Live) -> None:
    response = await send(live, "POST", query(SEARCH, variables={"s": "x" * 990_000}))
    assert response.status_code == 200
    assert response.json() == {"data": {"users": {"totalCount": 0}}}


def nested_fields(levels: int) -> str:
    return "{ viewer { " + "organizations { everyoneGroup { " * levels + "id" + " } }" * levels + " } }"


ABUSIVE_DOCUMENTS = [
    ("900 KB document of 300,000 tokens", "{ viewer { " + "id " * 300_000 + "} }", "more than 2000 tokens"),
    ("fields nested 40 deep", nested_fields(20), "exceeds maximum operation depth"),
    ("selections nested 600 deep", "{" + "a {" * 600 + "b" + "}" * 601, "nested too deeply"),
    (
        "list literal nested 900 deep",
        "{ user(id: " + "[" * 900 + "]" * 900 + ") { id } }",
        "nested too deeply",
    ),
    ("alias bomb", "{" + " ".join(f"a{i}: viewer {{ id }}" for i in range(300)) + "}", "300 aliases found"),
    ("directive spam", "{ viewer " + "@include(if: true) " * 300 + "{ id } }", "more than 2000 tokens"),
    (
        "fragment cycle",
        "{ viewer { ...A } } fragment A on User { ...B } fragment B on User { ...A }",
        "within itself",
    ),
    ("syntax error", "{ viewer { id }", "Syntax Error"),
    ("unknown field", "{ nope }", "Cannot query field"),
    (
        "Int literal beyond 32 bits",
        "{ users(first: 99999999999999999999999) { totalCount } }",
        "Int cannot represent non 32-bit",
    ),
]


@pytest.mark.parametrize(
    ("document", "message"), [pytest.param(*case[1:], id=case[0]) for case in ABUSIVE_DOCUMENTS]
)
async def test_an_abusive_document_is_refused_before_it_runs(live: Live, document: str, message: str) -> None:
    response = await send(live, "POST", query(document))
    assert response.status_code == 200
    assert response.json()["data"] is None
    assert set(codes(response)) == {"GRAPHQL_VALIDATION_FAILED"}
    assert message in response.json()["errors"][0]["message"]


BAD_SCALARS = [
    (
        "Int variable of 1e308",
        body(b'{"query": "query($f: Int) { users(first: $f) { totalCount } }", "variables": {"f": 1e308}}'),
    ),
    (
        "NaN",
        body(b'{"query": "query($f: Int) { users(first: $f) { totalCount } }", "variables": {"f": NaN}}'),
    ),
    (
        "Micros of Infinity",
        body(
            b'{"query": "mutation($m: Micros) { updateChatUsageLimitConfig(input: {spendLimitMicros: $m, period: DAY})'
            b' { errors { code } } }", "variables": {"m": Infinity}}'
        ),
    ),
    ("id not a UUID", query('{ user(id: "1; DROP TABLE users") { id } }')),
    ("page size 0", query("{ users(first: 0) { totalCount } }")),
    ("forged cursor", query('{ users(after: "bm90IGEgY3Vyc29y") { totalCount } }')),
]


@pytest.mark.parametrize("request_", [pytest.param(case[1], id=case[0]) for case in BAD_SCALARS])
async def test_a_bad_argument_is_bad_user_input(live: Live, request_: dict[str, Any]) -> None:
    response = await send(live, "POST", request_)
    assert response.status_code == 200
    assert codes(response) == ["BAD_USER_INPUT"]


@pytest.mark.parametrize(
    "text", [pytest.param("a\u0000b", id="NUL"), pytest.param("a\ud800b", id="lone surrogate")]
)
async def test_text_postgresql_cannot_store_is_bad_user_input_wherever_it_is_sent(
    live: Live, text: str
) -> None:
    async with httpx.AsyncClient(base_url=live.server.url, timeout=CLIENT_TIMEOUT) as http:
        owner = Client(http, live.seeded.owner_token)
        [chat_id] = await chats_of(
            owner, live.seeded.member_id, 1, organization=f"org-{uuid.uuid4().hex[:8]}"
        )
    operations = [
        (SEARCH, {"s": text}),
        (
            "mutation($n: String!) { createApiToken(input: {name: $n, service: CHATD}) { token errors { code } } }",
            {"n": text},
        ),
        (
            "mutation($c: ID!, $k: String) { recordChatMessage(input: {chatId: $c, role: USER, totalCostMicros: 1,"
            " idempotencyKey: $k}) { message { id } errors { code } } }",
            {"c": chat_id, "k": text},
        ),
        (
            'mutation($p: String!) { upsertChatModel(input: {provider: $p, model: "m"}) { errors { code } } }',
            {"p": text},
        ),
    ]
    for document, variables in operations:
        # json.dumps escapes the unpaired surrogate as \ud800, which is valid JSON: what a
        # JavaScript client sends for such a string.
        response = await send(live, "POST", query(document, variables=variables))
        assert response.status_code == 200
        result = response.json()
        payload_errors = [
            e["code"] for v in (result.get("data") or {}).values() if v for e in v.get("errors", [])
        ]
        top_level = [e["extensions"]["code"] for e in result.get("errors", [])]
        # Refused either as a mutation's own INVALID_INPUT or as a bad argument; never masked.
        assert top_level == ["BAD_USER_INPUT"] or payload_errors == ["INVALID_INPUT"], (document, result)


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param("Bearer " + "x" * 100_000, id="100 KB token"),
        pytest.param("Bearer sl_\u00e9\u00ff", id="non-ASCII token"),
        pytest.param("Basic b3duZXI6cGFzcw==", id="basic auth"),
        pytest.param("Bearer", id="empty bearer"),
    ],
)
async def test_a_malformed_token_is_401_with_a_code(live: Live, authorization: str) -> None:
    async with httpx.AsyncClient(base_url=live.server.url, timeout=CLIENT_TIMEOUT) as http:
        response = await http.post(
            "/graphql", json={"query": VIEWER}, headers={"Authorization": authorization.encode("latin-1")}
        )
    assert response.status_code == 401
    assert codes(response) == ["UNAUTHENTICATED"]
