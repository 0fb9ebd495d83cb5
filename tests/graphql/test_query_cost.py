"""The static cost limit: documents that may return too many nodes are refused before they run."""

from dataclasses import replace
from typing import Any

import httpx
import pytest
from graphql import parse
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.app import create_app
from spendlimits.graphql.cost import DEFAULT_MAX_COST, LIST_ESTIMATES, shape
from spendlimits.graphql.schema import schema
from spendlimits.settings import Settings
from tests.conftest import GraphQLClient, make_token

STATUS = "chatUsageLimitStatus { currentSpendMicros remainingMicros exceeded }"
#: The document of the issue: pages of members of the groups of a page of users, twice over.
ISSUE_DOCUMENT = f"""
query Heavy {{ users(first: 500) {{ nodes {{ groups {{ members(first: 500) {{ nodes {{
  {STATUS} groups {{ members(first: 500) {{ nodes {{ {STATUS} }} }} }} }} }} }} }} }} }}
"""
#: What an admin page asks for: 500 users with their groups, organizations and statuses.
PAGE_OF_500 = f"""
query Page {{ users(first: 500) {{ totalCount nodes {{ id username groups {{ id name }}
  organizations {{ id name }} {STATUS} }} }} }}
"""
GROUPS = LIST_ESTIMATES["User.groups"]


def estimate(document: str, variables: dict[str, Any] | None = None, operation: str | None = None) -> int:
    return shape(schema._schema, parse(document), operation).estimate(variables)


def test_the_issue_document_is_estimated_in_billions_and_a_page_of_500_users_fits_the_default() -> None:
    # users 500, their groups 500*G, members 500*G*500, their groups, and those groups' members.
    expected = 500 + 500 * GROUPS + 500 * GROUPS * 500 + 500 * GROUPS * 500 * GROUPS
    expected += 500 * GROUPS * 500 * GROUPS * 500
    assert estimate(ISSUE_DOCUMENT) == expected
    page = estimate(PAGE_OF_500)
    assert page == 500 + 500 * GROUPS + 500 * LIST_ESTIMATES["User.organizations"]
    assert page <= DEFAULT_MAX_COST < estimate(ISSUE_DOCUMENT)


def test_a_connection_without_first_counts_its_default_page_and_nodes_add_nothing() -> None:
    assert estimate("{ users { nodes { id } } }") == 50
    assert estimate("{ users(first: 7) { totalCount } }") == 7
    assert estimate("{ viewer { id username } }") == 0


def test_aliases_count_once_each() -> None:
    one = "users(first: 400) { nodes { groups { id } } }"
    assert estimate(f"{{ a: {one} }}") == 400 + 400 * GROUPS
    assert estimate(f"{{ a: {one} b: {one} c: {one} }}") == 3 * (400 + 400 * GROUPS)


def test_named_and_inline_fragments_are_counted_where_they_are_spread() -> None:
    direct = "{ users(first: 500) { nodes { groups { members(first: 100) { nodes { id } } } } } }"
    hidden = """
    query Hidden { ...Top }
    fragment Top on Query { users(first: 500) { ...Page } }
    fragment Page on UserConnection { nodes { ... on User { ...Groups } } }
    fragment Groups on User { groups { ... { members(first: 100) { nodes { id } } } } }
    """
    assert estimate(hidden) == estimate(direct) == 500 + 500 * GROUPS + 500 * GROUPS * 100


def test_variables_count_with_their_value_or_default_and_cannot_lower_the_cost() -> None:
    document = "query Q($n: Int, $m: Int = 2) { users(first: $n) { nodes { groups { members(first: $m) { id: totalCount } } } } }"
    assert estimate(document, {"n": 10, "m": 3}) == 10 + 10 * GROUPS + 10 * GROUPS * 3
    # $n absent: the field's default page (50); $m absent: its own default.
    assert estimate(document, {}) == 50 + 50 * GROUPS + 50 * GROUPS * 2
    # Nonsense or oversized values count as the largest page the API serves, never as zero.
    assert estimate(document, {"n": None, "m": "lots"}) == 500 + 500 * GROUPS + 500 * GROUPS * 500
    assert estimate(document, {"n": 10**9, "m": 1}) == 500 + 500 * GROUPS + 500 * GROUPS


def test_the_operation_chosen_by_name_is_the_one_counted() -> None:
    document = "query Small { users(first: 1) { totalCount } } query Big { users(first: 500) { totalCount } }"
    assert estimate(document, operation="Small") == 1
    assert estimate(document, operation="Big") == 500


def test_introspection_counts_nothing() -> None:
    assert estimate("{ __schema { types { fields { args { name } } } } }") == 0


def refused(body: dict[str, Any], limit: int) -> str:
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert error["extensions"]["cost"]["limit"] == limit
    message: str = error["message"]
    assert f"over the limit of {limit:,}" in message
    return message


async def test_the_issue_document_is_refused_over_http_with_the_estimate(as_owner: GraphQLClient) -> None:
    body = await as_owner.execute(ISSUE_DOCUMENT)
    message = refused(body, DEFAULT_MAX_COST)
    assert f"up to {estimate(ISSUE_DOCUMENT):,} nodes" in message
    assert body["errors"][0]["extensions"]["cost"]["estimate"] == estimate(ISSUE_DOCUMENT)


async def test_a_page_of_500_users_with_groups_and_statuses_is_accepted(as_owner: GraphQLClient) -> None:
    data = await as_owner.data(PAGE_OF_500)
    assert data["users"]["totalCount"] == 1
    assert data["users"]["nodes"][0]["username"] == "owner"


async def test_fragments_aliases_and_variables_cannot_hide_the_cost_over_http(
    as_owner: GraphQLClient,
) -> None:
    nested = "members(first: $m) { nodes { id } }"
    hidden = f"""
    query Hidden($n: Int = 1, $m: Int = 1) {{ a: users(first: $n) {{ ...P }} b: users(first: $n) {{ ...P }} }}
    fragment P on UserConnection {{ nodes {{ ... on User {{ groups {{ {nested} }} }} }} }}
    """
    # With its defaults the document is small and runs.
    assert "errors" not in await as_owner.execute(hidden)
    # The same document with large values is refused: the values are what count.
    body = await as_owner.execute(hidden, {"n": 500, "m": 500})
    message = refused(body, DEFAULT_MAX_COST)
    assert f"up to {2 * (500 + 500 * GROUPS + 500 * GROUPS * 500):,} nodes" in message


@pytest.fixture
async def strict_client(engine: AsyncEngine, settings: Settings) -> Any:
    app = create_app(engine, replace(settings, max_query_cost=100))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as http:
        yield http


async def test_the_limit_is_a_setting(
    strict_client: httpx.AsyncClient, engine: AsyncEngine, owner: Any
) -> None:
    client = GraphQLClient(strict_client, await make_token(engine, owner))
    assert "errors" not in await client.execute("{ users(first: 100) { totalCount } }")
    body = await client.execute("{ users(first: 101) { totalCount } }")
    assert "up to 101 nodes" in refused(body, 100)


async def test_refused_documents_do_not_poison_the_validation_cache(as_owner: GraphQLClient) -> None:
    document = (
        "query Q($n: Int) { users(first: $n) { nodes { groups { members(first: $n) { totalCount } } } } }"
    )
    refused(await as_owner.execute(document, {"n": 500}), DEFAULT_MAX_COST)
    # The same text with a small page is valid and runs: the refusal was not cached with the text.
    assert "errors" not in await as_owner.execute(document, {"n": 2})
