"""Security properties a user relies on: secrets stay out of logs, tokens are compared in constant
time, and a member cannot reach another user's data through any field of the schema."""

import asyncio
import hmac
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLArgument,
    GraphQLField,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    Undefined,
    build_schema,
    get_named_type,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.auth import tokens
from spendlimits.auth.principal import Service
from spendlimits.directory.users import User
from tests.conftest import ROOT, GraphQLClient, make_token
from tests.reliability.postgres import Postgres
from tests.reliability.service import CLIENT_TIMEOUT, Client, Server, assert_no_secret_logged, seed

pytestmark = pytest.mark.reliability


async def test_no_token_secret_or_hash_ever_reaches_the_log(
    postgres: Postgres, make_server: Callable[..., Server]
) -> None:
    # DEBUG, JSON: the most the service ever writes, in the format a log pipeline keeps.
    server = make_server(postgres.url, SPENDLIMITS_LOG_LEVEL="DEBUG", SPENDLIMITS_LOG_FORMAT="json")
    await server.start()
    seeded = await seed(postgres.url)
    async with httpx.AsyncClient(base_url=server.url, timeout=CLIENT_TIMEOUT) as http:
        owner = Client(http, seeded.owner_token)
        created = await owner.data(
            """mutation { createApiToken(input: {name: "ci", service: CHATD}) { token apiToken { id } } }"""
        )
        new_secret = created["createApiToken"]["token"]
        new_id = created["createApiToken"]["apiToken"]["id"]
        assert (await Client(http, new_secret).data("{ chatUsageLimitConfig { enabled } }")) is not None
        revoked = await owner.data(
            "mutation($id: ID!) { revokeApiToken(input: {tokenId: $id}) { errors { code } } }", {"id": new_id}
        )
        assert revoked["revokeApiToken"]["errors"] == []
        # Every path a token takes: accepted, refused as revoked or unknown, with failing
        # documents, over GET, on /metrics, and while the database is down.
        assert (await Client(http, new_secret).post("{ viewer { id } }")).status_code == 401
        assert (await Client(http, seeded.member_token + "x").post("{ viewer { id } }")).status_code == 401
        assert (await Client(http, seeded.member_token).post("{ nope }")).status_code == 200
        assert (await Client(http, seeded.member_token).post("{ users { totalCount } }")).status_code == 200
        get = await http.get("/graphql", params={"query": "{ viewer { id } }"}, headers=owner.headers())
        assert get.status_code == 200
        assert (
            await http.get("/metrics", headers=Client(http, seeded.chatd_token).headers())
        ).status_code == 200
        assert (
            await http.get("/metrics", headers=Client(http, seeded.member_token).headers())
        ).status_code == 403
        await Client(http, seeded.chatd_token).post("{ chatUsageLimitConfig { enabled } }")
        await asyncio.to_thread(postgres.stop)
        assert (
            await Client(http, seeded.chatd_token).post("{ chatUsageLimitConfig { enabled } }")
        ).status_code == 200
        assert (await Client(http, seeded.unused_token).post("{ viewer { id } }")).status_code == 503
    log = server.log_text()
    assert "graphql request" in log and "DEBUG" in log, "the log captured too little to prove anything"
    assert_no_secret_logged(log, [*seeded.secrets, new_secret, seeded.member_token + "x"])


async def test_a_token_is_accepted_only_through_a_constant_time_comparison_of_its_hash(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = await make_token(engine, service=Service.CHATD)
    compared: list[tuple[bytes, bytes]] = []
    verdict: list[bool] = []
    constant_time = hmac.compare_digest

    def spy(stored: bytes, given: bytes) -> bool:
        compared.append((bytes(stored), bytes(given)))
        return verdict[-1] if verdict else constant_time(stored, given)

    monkeypatch.setattr("spendlimits.auth.tokens.hmac.compare_digest", spy)
    async with engine.connect() as conn:
        accepted = await tokens.verify_secret(conn, secret)
        # The database found the row by hash; the decision is still the constant-time comparison's.
        verdict.append(False)
        refused = await tokens.verify_secret(conn, secret)
    assert accepted is not None and accepted.service is Service.CHATD
    assert refused is None
    assert compared == [(tokens.hash_secret(secret), tokens.hash_secret(secret))] * 2


# --- A member and every path to a User ------------------------------------------------------

#: Paths longer than this are not walked (the server refuses depth > 10 anyway).
MAX_PATH = 8


def user_paths(schema: GraphQLSchema) -> Iterator[list[tuple[GraphQLObjectType, str, GraphQLField]]]:
    """Every path of fields from Query to a field whose type is User (or a list of them).

    A type is expanded at most once per path, so cycles end; a User reached again at the end of a
    path (a user's group's members) is still a path.
    """
    user = schema.get_type("User")
    query = schema.query_type
    assert query is not None and user is not None

    def walk(
        parent: GraphQLObjectType, path: list[tuple[GraphQLObjectType, str, GraphQLField]], seen: set[str]
    ) -> Iterator[list[tuple[GraphQLObjectType, str, GraphQLField]]]:
        for name, field in parent.fields.items():
            target: GraphQLNamedType = get_named_type(field.type)
            step = [*path, (parent, name, field)]
            if target is user:
                yield step
            if isinstance(target, GraphQLObjectType) and target.name not in seen and len(step) < MAX_PATH:
                yield from walk(target, step, seen | {target.name})

    yield from walk(query, [], {"Query"})


def has_default(argument: GraphQLArgument) -> bool:
    # graphql-core 3.3 keeps a default read from SDL in ``default``, earlier ones in ``default_value``.
    return getattr(argument, "default", None) is not None or argument.default_value is not Undefined


def document(path: list[tuple[GraphQLObjectType, str, GraphQLField]], ids: dict[str, str]) -> str:
    """A query that follows ``path`` and asks every object on its way for its type and id."""
    inner = ""
    for parent, name, field in reversed(path):
        values = []
        for arg, spec in field.args.items():
            if isinstance(spec.type, GraphQLNonNull) and not has_default(spec):
                key = f"{parent.name}.{name}.{arg}"
                assert key in ids, f"no value for the required argument {key}: add one to the test's ids"
                values.append(f'{arg}: "{ids[key]}"')
        if "first" in field.args:
            # Pages small enough for the cost limit (default pages nested down some paths are
            # refused before they run) and large enough for every row this test creates.
            values.append("first: 20")
        arguments = f"({', '.join(values)})" if values else ""
        target = get_named_type(field.type)
        own = (
            "__typename id"
            if isinstance(target, GraphQLObjectType) and "id" in target.fields
            else "__typename"
        )
        inner = f"{name}{arguments} {{ {own} {inner} }}"
    return "{ " + inner + " }"


def users_in(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        if value.get("__typename") == "User":
            yield value["id"]
        for child in value.values():
            yield from users_in(child)
    elif isinstance(value, list):
        for child in value:
            yield from users_in(child)


@pytest.fixture
async def others(as_owner: GraphQLClient, member: User) -> dict[str, str]:
    """Another user sharing the member's organization and group, with everything a user can have:
    chats, a message, a reservation, an override, a token. Returns ids by required argument."""
    data = await as_owner.data(
        """mutation { createOrganization(input: {name: "shared"}) { organization { id } } }"""
    )
    org = data["createOrganization"]["organization"]["id"]
    other = (
        await as_owner.data(
            'mutation($o: ID!) { createUser(input: {username: "other", organizationIds: [$o]}) { user { id } } }',
            {"o": org},
        )
    )["createUser"]["user"]["id"]
    steps = [
        (
            "mutation($o: ID!, $u: ID!) { addOrganizationMember(input: {organizationId: $o, userId: $u}) { errors { code } } }",
            {"o": org, "u": str(member.id)},
        ),
        (
            "mutation($u: ID!) { upsertChatUsageLimitOverride(input: {userId: $u, spendLimitMicros: 5}) { errors { code } } }",
            {"u": other},
        ),
        (
            'mutation($u: ID!) { createApiToken(input: {name: "t", userId: $u}) { errors { code } } }',
            {"u": other},
        ),
        (
            "mutation { updateChatUsageLimitConfig(input: {spendLimitMicros: 1000000, period: MONTH}) { errors { code } } }",
            {},
        ),
    ]
    for mutation, variables in steps:
        result = await as_owner.data(mutation, variables)
        assert all(not payload["errors"] for payload in result.values()), result
    group = (
        await as_owner.data(
            'mutation($o: ID!) { createGroup(input: {organizationId: $o, name: "team"}) { group { id } errors { code } } }',
            {"o": org},
        )
    )["createGroup"]["group"]["id"]
    for mutation, variables in [
        (
            "mutation($g: ID!, $u: [ID!]!) { addGroupMembers(input: {groupId: $g, userIds: $u}) { errors { code } } }",
            {"g": group, "u": [other, str(member.id)]},
        ),
        (
            "mutation($g: ID!) { upsertChatUsageLimitGroupOverride(input: {groupId: $g, spendLimitMicros: 7}) { errors { code } } }",
            {"g": group},
        ),
    ]:
        result = await as_owner.data(mutation, variables)
        assert all(not payload["errors"] for payload in result.values()), result
    chat = (
        await as_owner.data(
            "mutation($u: ID!, $o: ID!) { createChat(input: {ownerId: $u, organizationId: $o}) { chat { id } } }",
            {"u": other, "o": org},
        )
    )["createChat"]["chat"]["id"]
    message = await as_owner.data(
        "mutation($c: ID!) { recordChatMessage(input: {chatId: $c, role: USER, totalCostMicros: 1}) { errors { code } } }",
        {"c": chat},
    )
    assert message["recordChatMessage"]["errors"] == []
    reserved = await as_owner.data(
        "mutation($u: ID!, $c: ID!) { reserveChatSpend(input: {userId: $u, chatId: $c, estimateMicros: 1}) { reservation { id } errors { code } } }",
        {"u": other, "c": chat},
    )
    reservation = reserved["reserveChatSpend"]["reservation"]["id"]
    return {
        "other": other,
        "Query.user.id": other,
        "Query.group.id": group,
        "Query.organization.id": org,
        "Query.chat.id": chat,
        "Query.reservation.id": reservation,
        "Query.chatUsageLimitCheck.userId": other,
    }


async def test_a_member_reaches_no_other_users_data_through_any_path_of_the_schema(
    as_member: GraphQLClient,
    member: User,
    owner: User,
    others: dict[str, str],
    record_property: Callable[[str, object], None],
) -> None:
    schema = build_schema((ROOT / "schema.graphql").read_text())
    paths = list(user_paths(schema))
    assert len(paths) > 20, "the walk found too few paths to User"
    strangers = {others["other"], str(owner.id)}
    outcomes: dict[str, int] = {}
    for path in paths:
        query = document(path, others)
        body = await as_member.execute(query)
        text = json.dumps(body)
        label = ".".join(name for _, name, _ in path)
        assert not strangers & set(users_in(body.get("data"))), f"{label} shows another user: {text}"
        assert not any(s in text for s in strangers), f"{label} leaks another user's id: {text}"
        codes = {e["extensions"]["code"] for e in body.get("errors", [])}
        assert codes <= {"FORBIDDEN"}, f"{label}: {text}"
        outcome = "forbidden" if codes else "own data or null"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    record_property("figures", {"paths": len(paths), **outcomes})
