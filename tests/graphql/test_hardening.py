"""Abusive or malformed requests: document limits, caches, bad input, masked errors, body size."""

import logging
import uuid
from typing import Any

import pytest
from graphql import BooleanValueNode, FloatValueNode, IntValueNode, StringValueNode
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.directory.users import User
from spendlimits.graphql import document_cache
from spendlimits.graphql.hardening import MAX_ALIASES, MAX_DEPTH, MAX_TOKENS
from spendlimits.graphql.pagination import MAX_FIRST
from spendlimits.graphql.scalars import MAX_SAFE, InvalidScalar, parse_micros, parse_micros_literal
from spendlimits.settings import Settings
from tests.conftest import GraphQLClient


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body["errors"]]


def nested(depth: int) -> str:
    """A valid query whose leaf is ``depth`` levels below its root field, as the depth limit counts."""
    path = ["viewer", "organizations"]
    while len(path) < depth:
        path.append("organization" if path[-1] == "everyoneGroup" else "everyoneGroup")
    query = "id"
    for field in reversed(path[:depth]):
        query = f"{field} {{ {query} }}"
    return "{ " + query + " }"


async def test_repeating_a_query_parses_and_validates_it_once(
    as_owner: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"parse": 0, "validate": 0}

    def counted(name: str, function: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            return function(*args, **kwargs)

        return wrapper

    # Looked up by name: the module uses these imports without re-exporting them.
    for attribute, name in (("parse", "parse"), ("validate_document", "validate")):
        monkeypatch.setattr(document_cache, attribute, counted(name, getattr(document_cache, attribute)))
    # A name of its own, so no other test has put this document in the cache.
    query = f"query Probe{uuid.uuid4().hex} {{ viewer {{ username }} }}"
    for _ in range(3):
        assert await as_owner.data(query) == {"viewer": {"username": "owner"}}
    assert calls == {"parse": 1, "validate": 1}


async def test_a_query_at_the_depth_limit_runs(as_owner: GraphQLClient) -> None:
    body = await as_owner.execute(nested(MAX_DEPTH))
    assert "errors" not in body
    assert body["data"]["viewer"] == {"organizations": []}


async def test_a_query_deeper_than_the_limit_is_refused(as_owner: GraphQLClient) -> None:
    body = await as_owner.execute(nested(MAX_DEPTH + 1))
    assert body["data"] is None
    assert codes(body) == ["GRAPHQL_VALIDATION_FAILED"]
    assert f"exceeds maximum operation depth of {MAX_DEPTH}" in body["errors"][0]["message"]


async def test_an_alias_bomb_is_refused(as_owner: GraphQLClient) -> None:
    allowed = "{ " + " ".join(f"a{i}: viewer {{ id }}" for i in range(MAX_ALIASES)) + " }"
    bomb = "{ " + " ".join(f"a{i}: viewer {{ id }}" for i in range(MAX_ALIASES + 1)) + " }"
    assert "errors" not in await as_owner.execute(allowed)
    body = await as_owner.execute(bomb)
    assert body["data"] is None
    assert codes(body) == ["GRAPHQL_VALIDATION_FAILED"]
    assert body["errors"][0]["message"] == f"{MAX_ALIASES + 1} aliases found. Allowed: {MAX_ALIASES}"


async def test_a_document_with_too_many_tokens_is_refused_before_it_is_parsed_whole(
    as_owner: GraphQLClient,
) -> None:
    body = await as_owner.execute("{ viewer { " + "id " * MAX_TOKENS + "} }")
    assert body["data"] is None
    assert codes(body) == ["GRAPHQL_VALIDATION_FAILED"]
    assert f"more than {MAX_TOKENS} tokens" in body["errors"][0]["message"]


async def test_a_syntax_error_is_a_validation_failure(as_owner: GraphQLClient) -> None:
    body = await as_owner.execute("{ viewer {")
    assert codes(body) == ["GRAPHQL_VALIDATION_FAILED"]
    assert body["errors"][0]["message"].startswith("Syntax Error")


@pytest.mark.parametrize("first", [0, -1, MAX_FIRST + 1])
async def test_first_outside_1_to_500_is_bad_user_input(as_owner: GraphQLClient, first: int) -> None:
    body = await as_owner.execute("query ($n: Int) { users(first: $n) { totalCount } }", {"n": first})
    assert codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["message"] == f"first must be between 1 and {MAX_FIRST}, got {first}."


async def test_first_of_500_is_allowed(as_owner: GraphQLClient) -> None:
    data = await as_owner.data("{ users(first: 500) { totalCount } }")
    assert data == {"users": {"totalCount": 1}}


@pytest.mark.parametrize(
    "query",
    [
        '{ user(id: "not-a-uuid") { id } }',
        '{ group(id: "1234") { id } }',
        '{ organization(id: "") { id } }',
        '{ chat(id: "00000000-0000-0000-0000-00000000000g") { id } }',
        '{ groups(organizationId: "acme") { totalCount } }',
        '{ viewer { groups(organizationId: "acme") { id } } }',
    ],
)
async def test_a_malformed_id_is_bad_user_input_not_a_server_error(
    as_owner: GraphQLClient, query: str
) -> None:
    body = await as_owner.execute(query)
    assert codes(body) == ["BAD_USER_INPUT"]
    assert "must be a UUID" in body["errors"][0]["message"]


@pytest.mark.parametrize(
    "value", [1.5, "1.5", 1e3, "1e3", "12a", "", "-", "--1", "1-", " 12", True, False, None, [1], {"a": 1}]
)
def test_micros_refuses_anything_but_whole_numbers(value: object) -> None:
    with pytest.raises(InvalidScalar):
        parse_micros(value)


@pytest.mark.parametrize("value", [MAX_SAFE + 1, -MAX_SAFE - 1, str(MAX_SAFE + 1), 10**30])
def test_micros_refuses_numbers_javascript_cannot_hold_exactly(value: object) -> None:
    with pytest.raises(InvalidScalar, match="between"):
        parse_micros(value)


@pytest.mark.parametrize(
    ("value", "expected"), [(0, 0), (5_000_000, 5_000_000), ("42", 42), ("-7", -7), (MAX_SAFE, MAX_SAFE)]
)
def test_micros_accepts_json_numbers_and_digit_strings(value: object, expected: int) -> None:
    assert parse_micros(value) == expected


def test_micros_literals_must_be_integers_or_digit_strings() -> None:
    assert parse_micros_literal(IntValueNode(value="12")) == 12
    assert parse_micros_literal(StringValueNode(value="12")) == 12
    for node in (FloatValueNode(value="1.5"), BooleanValueNode(value=True), StringValueNode(value="1e3")):
        with pytest.raises(InvalidScalar):
            parse_micros_literal(node)


async def test_an_unexpected_error_is_masked_for_the_client_and_logged_with_its_trace(
    as_owner: GraphQLClient, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("DROP TABLE chat_models CASCADE"))
    with caplog.at_level(logging.ERROR, logger="spendlimits"):
        response = await as_owner.post("{ chatModels { id } }")
    assert response.status_code == 200
    assert response.json()["errors"] == [
        {
            "message": "Unexpected error.",
            "locations": [{"line": 1, "column": 3}],
            "path": ["chatModels"],
            "extensions": {"code": "INTERNAL_SERVER_ERROR"},
        }
    ]
    for leak in ("chat_models", "relation", "SELECT", "Traceback", "asyncpg", "sqlalchemy"):
        assert leak not in response.text
    [record] = [r for r in caplog.records if r.name == "spendlimits.graphql.errors"]
    assert record.exc_info is not None
    assert "chat_models" in str(record.exc_info[1])


async def test_an_oversized_body_is_refused_with_413(as_owner: GraphQLClient, settings: Settings) -> None:
    padding = " " * settings.max_body_bytes
    response = await as_owner.post("{ viewer { id } }" + padding)
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


UPSERT_OVERRIDE = """
mutation ($input: UpsertChatUsageLimitOverrideInput!) {
  upsertChatUsageLimitOverride(input: $input) { errors { code } }
}
"""


@pytest.mark.parametrize("value", [1.5, "1.5", 1e3, "1e3", MAX_SAFE + 1, True, "12a"])
async def test_a_bad_micros_variable_is_bad_user_input(
    as_owner: GraphQLClient, owner: User, value: object
) -> None:
    body = await as_owner.execute(
        UPSERT_OVERRIDE, {"input": {"userId": str(owner.id), "spendLimitMicros": value}}
    )
    assert body["data"] is None
    assert codes(body) == ["BAD_USER_INPUT"]
    assert "Micros" in body["errors"][0]["message"]


@pytest.mark.parametrize("literal", ["1.5", "true", '"1e3"', "9007199254740992"])
async def test_a_bad_micros_literal_is_bad_user_input(
    as_owner: GraphQLClient, owner: User, literal: str
) -> None:
    body = await as_owner.execute(
        "mutation { upsertChatUsageLimitOverride(input: {"
        f'userId: "{owner.id}", spendLimitMicros: {literal}'
        "}) { errors { code } } }"
    )
    assert body["data"] is None
    assert codes(body) == ["BAD_USER_INPUT"]
