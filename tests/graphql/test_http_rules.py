"""GraphQL over HTTP (docs/api.md): which operation runs, the shape and media type of answers."""

from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.directory.users import User
from spendlimits.graphql.view import GRAPHQL_RESPONSE, JSON, response_media_type
from tests.conftest import GraphQLClient

TWO_OPERATIONS = """
query Look { organizations { name } }
mutation Make { createOrganization(input: {name: "made"}) { errors { code } } }
"""
CREATE_ORGANIZATION = 'mutation { createOrganization(input: {name: "viaget"}) { errors { code } } }'


def auth(client: GraphQLClient, accept: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {client.token}"}
    if accept is not None:
        headers["Accept"] = accept
    return headers


async def organizations(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(text("SELECT count(*) FROM organizations")) or 0)


def assert_error_shape(response: httpx.Response, status: int, code: str, media_type: str = JSON) -> str:
    """The one JSON shape of every refusal; returns the message."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].split(";")[0] == media_type
    body = response.json()
    assert list(body) == ["errors"]
    [error] = body["errors"]
    assert set(error) == {"message", "extensions"} and error["extensions"] == {"code": code}
    assert isinstance(error["message"], str) and error["message"]
    message: str = error["message"]
    return message


# --- several operations and no operationName ------------------------------------------------------


@pytest.mark.parametrize("accept", [None, JSON, GRAPHQL_RESPONSE])
async def test_several_operations_without_a_name_run_nothing_over_post(
    as_owner: GraphQLClient, client: httpx.AsyncClient, engine: AsyncEngine, accept: str | None
) -> None:
    # The mutation comes second: strawberry used to run the first operation, so also try it first.
    for document in (TWO_OPERATIONS, "\n".join(reversed(TWO_OPERATIONS.strip().splitlines()))):
        response = await client.post("/graphql", json={"query": document}, headers=auth(as_owner, accept))
        message = assert_error_shape(response, 400, "OPERATION_RESOLUTION_FAILURE", accept or JSON)
        assert "operationName" in message
    assert await organizations(engine) == 0


async def test_several_operations_without_a_name_run_nothing_over_get(
    as_owner: GraphQLClient, client: httpx.AsyncClient
) -> None:
    document = "query A { viewer { id } } query B { viewer { username } }"
    response = await client.get("/graphql", params={"query": document}, headers=auth(as_owner, JSON))
    assert_error_shape(response, 400, "OPERATION_RESOLUTION_FAILURE")
    named = await client.get(
        "/graphql", params={"query": document, "operationName": "B"}, headers=auth(as_owner, JSON)
    )
    assert named.json() == {"data": {"viewer": {"username": "owner"}}}


async def test_operation_name_picks_the_operation(as_owner: GraphQLClient, engine: AsyncEngine) -> None:
    response = await as_owner.http.post(
        "/graphql", json={"query": TWO_OPERATIONS, "operationName": "Make"}, headers=auth(as_owner)
    )
    assert response.json() == {"data": {"createOrganization": {"errors": []}}}
    assert await organizations(engine) == 1
    # One operation needs no name.
    assert await as_owner.data("{ organizations { name } }") == {"organizations": [{"name": "made"}]}


# --- one JSON shape for every refusal ----------------------------------------------------------------

REFUSED = [
    ("not JSON", "POST", {"content": b"{nope", "headers": {"Content-Type": JSON}}, 400, "BAD_REQUEST"),
    ("no query", "POST", {"json": {"variables": {}}}, 400, "BAD_REQUEST"),
    (
        "text/plain body",
        "POST",
        {"content": b"{}", "headers": {"Content-Type": "text/plain"}},
        400,
        "BAD_REQUEST",
    ),
    (
        "unknown operation name",
        "POST",
        {"json": {"query": "{ viewer { id } }", "operationName": "Nope"}},
        400,
        "OPERATION_RESOLUTION_FAILURE",
    ),
    ("PUT", "PUT", {"json": {"query": "{ viewer { id } }"}}, 405, "METHOD_NOT_ALLOWED"),
    ("DELETE", "DELETE", {}, 405, "METHOD_NOT_ALLOWED"),
    ("mutation over GET", "GET", {"params": {"query": CREATE_ORGANIZATION}}, 405, "METHOD_NOT_ALLOWED"),
]


@pytest.mark.parametrize("accept", [JSON, GRAPHQL_RESPONSE])
@pytest.mark.parametrize(
    ("method", "request_", "status", "code"), [pytest.param(*case[1:], id=case[0]) for case in REFUSED]
)
async def test_every_refusal_is_json_of_one_shape(
    as_owner: GraphQLClient,
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    accept: str,
    method: str,
    request_: dict[str, Any],
    status: int,
    code: str,
) -> None:
    headers = {**auth(as_owner, accept), **request_.get("headers", {})}
    response = await client.request(method, "/graphql", **{**request_, "headers": headers})
    assert_error_shape(response, status, code, accept)
    if status == 405:
        assert response.headers["allow"] == ("POST" if method == "GET" else "GET, POST")
    assert await organizations(engine) == 0


async def test_401_413_and_the_rest_share_the_shape(
    client: httpx.AsyncClient, as_owner: GraphQLClient
) -> None:
    assert_error_shape(
        await client.post("/graphql", json={"query": "{ viewer { id } }"}), 401, "UNAUTHENTICATED"
    )
    big = {"query": "{ viewer { id } }", "variables": {"x": "y" * 2_000_000}}
    assert_error_shape(await client.post("/graphql", json=big, headers=auth(as_owner)), 413, "BAD_USER_INPUT")


# --- application/graphql-response+json ---------------------------------------------------------------


async def test_a_document_that_does_not_validate_is_400_without_data_for_graphql_response_json(
    as_owner: GraphQLClient, client: httpx.AsyncClient
) -> None:
    query = {"query": "{ viewer { nope } }"}
    modern = await client.post("/graphql", json=query, headers=auth(as_owner, GRAPHQL_RESPONSE))
    assert modern.status_code == 400
    assert modern.headers["content-type"] == GRAPHQL_RESPONSE
    assert "data" not in modern.json()
    assert [e["extensions"]["code"] for e in modern.json()["errors"]] == ["GRAPHQL_VALIDATION_FAILED"]
    # application/json keeps the status legacy clients expect.
    legacy = await client.post("/graphql", json=query, headers=auth(as_owner, JSON))
    assert (legacy.status_code, legacy.headers["content-type"]) == (200, JSON)
    assert legacy.json()["data"] is None


async def test_a_field_error_is_200_for_graphql_response_json(
    as_member: GraphQLClient, as_owner: GraphQLClient, owner: User, client: httpx.AsyncClient
) -> None:
    # user(id:) is nullable: partial data. users is not: the error nulls data, still a field error.
    partial = {
        "query": "query ($id: ID!) { viewer { username } user(id: $id) { id } }",
        "variables": {"id": str(owner.id)},
    }
    response = await client.post("/graphql", json=partial, headers=auth(as_member, GRAPHQL_RESPONSE))
    assert (response.status_code, response.headers["content-type"]) == (200, GRAPHQL_RESPONSE)
    body = response.json()
    assert body["data"] == {"viewer": {"username": "member"}, "user": None}
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    nulled = await client.post(
        "/graphql", json={"query": "{ users { totalCount } }"}, headers=auth(as_member, GRAPHQL_RESPONSE)
    )
    assert nulled.status_code == 200 and nulled.json()["data"] is None


async def test_a_bad_variable_is_a_request_error(as_owner: GraphQLClient, client: httpx.AsyncClient) -> None:
    query = {"query": "query ($n: Int) { users(first: $n) { totalCount } }", "variables": {"n": "ten"}}
    response = await client.post("/graphql", json=query, headers=auth(as_owner, GRAPHQL_RESPONSE))
    assert response.status_code == 400
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["BAD_USER_INPUT"]


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),
        ("application/json", JSON),
        ("application/graphql-response+json", GRAPHQL_RESPONSE),
        ("application/graphql-response+json, application/json;q=0.9", GRAPHQL_RESPONSE),
        ("application/json, application/graphql-response+json", GRAPHQL_RESPONSE),
        ("application/json, application/graphql-response+json;q=0.5", JSON),
        ("application/graphql-response+json;q=0", JSON),
        ("application/graphql-response+json;q=0.8, */*;q=0.1", GRAPHQL_RESPONSE),
        ("APPLICATION/GRAPHQL-RESPONSE+JSON ; q=1", GRAPHQL_RESPONSE),
        ("text/html", JSON),
    ],
)
def test_the_media_type_follows_the_clients_preference(accept: str | None, expected: str) -> None:
    assert response_media_type(accept) == expected


async def test_an_anonymous_operation_beside_another_runs_nothing(
    as_owner: GraphQLClient, engine: AsyncEngine
) -> None:
    document = '{ organizations { name } } mutation Make { createOrganization(input: {name: "x"}) { errors { code } } }'
    body = await as_owner.execute(document)
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["GRAPHQL_VALIDATION_FAILED"]
    assert await organizations(engine) == 0
