"""The directory mutations over HTTP: organizations, users, groups, models and tokens."""

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.auth.principal import Role, Service
from tests.conftest import GraphQLClient, make_token, make_user

CREATE_ORGANIZATION = """
mutation ($input: CreateOrganizationInput!) {
  createOrganization(input: $input) {
    organization { id name displayName everyoneGroup { id isEveryone } }
    errors { code message field }
  }
}
"""
CREATE_USER = """
mutation ($input: CreateUserInput!) {
  createUser(input: $input) {
    user { id username name email role isSystem deleted organizations { name } }
    errors { code message field }
  }
}
"""
DELETE_USER = """
mutation ($input: DeleteUserInput!) {
  deleteUser(input: $input) { user { id deleted organizations { id } groups { id } } errors { code field } }
}
"""
ADD_MEMBER = """
mutation ($input: OrganizationMemberInput!) {
  addOrganizationMember(input: $input) {
    organization { name memberCount } user { username } errors { code message field }
  }
}
"""
REMOVE_MEMBER = """
mutation ($input: OrganizationMemberInput!) {
  removeOrganizationMember(input: $input) {
    organization { name memberCount } user { username } errors { code message field }
  }
}
"""
CREATE_GROUP = """
mutation ($input: CreateGroupInput!) {
  createGroup(input: $input) {
    group { id name displayName isEveryone organization { name } }
    errors { code message field }
  }
}
"""
ADD_GROUP_MEMBERS = """
mutation ($input: GroupMembersInput!) {
  addGroupMembers(input: $input) { group { id memberCount } errors { code message field } }
}
"""
REMOVE_GROUP_MEMBERS = """
mutation ($input: GroupMembersInput!) {
  removeGroupMembers(input: $input) { group { id memberCount } errors { code message field } }
}
"""
UPSERT_MODEL = """
mutation ($input: UpsertChatModelInput!) {
  upsertChatModel(input: $input) {
    chatModel {
      id provider model enabled isPriced
      pricing {
        inputPricePerMillionTokens outputPricePerMillionTokens
        cacheReadPricePerMillionTokens cacheWritePricePerMillionTokens
      }
    }
    errors { code message field }
  }
}
"""
CREATE_TOKEN = """
mutation ($input: CreateApiTokenInput!) {
  createApiToken(input: $input) {
    token apiToken { id name service user { username } } errors { code message field }
  }
}
"""
REVOKE_TOKEN = """
mutation ($input: RevokeApiTokenInput!) {
  revokeApiToken(input: $input) { revokedTokenId errors { code message field } }
}
"""


async def create_organization(client: GraphQLClient, name: str) -> str:
    data = await client.data(CREATE_ORGANIZATION, {"input": {"name": name}})
    assert data["createOrganization"]["errors"] == []
    organization_id: str = data["createOrganization"]["organization"]["id"]
    return organization_id


async def create_user(client: GraphQLClient, username: str, organization_ids: list[str] | None = None) -> str:
    variables = {"input": {"username": username, "organizationIds": organization_ids or []}}
    data = await client.data(CREATE_USER, variables)
    assert data["createUser"]["errors"] == []
    user_id: str = data["createUser"]["user"]["id"]
    return user_id


async def create_group(client: GraphQLClient, organization_id: str, name: str) -> str:
    data = await client.data(CREATE_GROUP, {"input": {"organizationId": organization_id, "name": name}})
    assert data["createGroup"]["errors"] == []
    group_id: str = data["createGroup"]["group"]["id"]
    return group_id


async def count(engine: AsyncEngine, sql: str, **params: Any) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(text(sql), params) or 0)


# --- organizations -------------------------------------------------------------------------------


async def test_create_organization_comes_with_its_everyone_group(as_owner: GraphQLClient) -> None:
    data = await as_owner.data(CREATE_ORGANIZATION, {"input": {"name": "acme", "displayName": "Acme Corp"}})
    organization = data["createOrganization"]["organization"]
    assert organization["name"] == "acme"
    assert organization["displayName"] == "Acme Corp"
    assert organization["everyoneGroup"] == {"id": organization["id"], "isEveryone": True}


async def test_organization_names_are_unique_case_insensitively(as_owner: GraphQLClient) -> None:
    await create_organization(as_owner, "acme")
    data = await as_owner.data(CREATE_ORGANIZATION, {"input": {"name": "ACME"}})
    assert data["createOrganization"] == {
        "organization": None,
        "errors": [
            {
                "code": "ALREADY_EXISTS",
                "message": "An organization named 'ACME' already exists.",
                "field": ["input", "name"],
            }
        ],
    }


@pytest.mark.parametrize("name", ["", " acme", "acme corp", "-acme", "a" * 65, "acme\n", "ümlaut"])
async def test_bad_organization_names_are_invalid_input(
    as_owner: GraphQLClient, engine: AsyncEngine, name: str
) -> None:
    data = await as_owner.data(CREATE_ORGANIZATION, {"input": {"name": name}})
    assert data["createOrganization"]["organization"] is None
    [error] = data["createOrganization"]["errors"]
    assert (error["code"], error["field"]) == ("INVALID_INPUT", ["input", "name"])
    assert await count(engine, "SELECT count(*) FROM organizations") == 0


async def test_too_long_display_name_is_invalid_input(as_owner: GraphQLClient) -> None:
    data = await as_owner.data(CREATE_ORGANIZATION, {"input": {"name": "acme", "displayName": "x" * 129}})
    [error] = data["createOrganization"]["errors"]
    assert (error["code"], error["field"]) == ("INVALID_INPUT", ["input", "displayName"])


async def test_adding_and_removing_an_organization_member(as_owner: GraphQLClient) -> None:
    organization_id = await create_organization(as_owner, "acme")
    user_id = await create_user(as_owner, "ada")
    variables = {"input": {"organizationId": organization_id, "userId": user_id}}

    added = (await as_owner.data(ADD_MEMBER, variables))["addOrganizationMember"]
    assert added == {
        "organization": {"name": "acme", "memberCount": 1},
        "user": {"username": "ada"},
        "errors": [],
    }
    again = (await as_owner.data(ADD_MEMBER, variables))["addOrganizationMember"]
    assert again["organization"]["memberCount"] == 1 and again["errors"] == []

    removed = (await as_owner.data(REMOVE_MEMBER, variables))["removeOrganizationMember"]
    assert removed["organization"]["memberCount"] == 0 and removed["errors"] == []
    again = (await as_owner.data(REMOVE_MEMBER, variables))["removeOrganizationMember"]
    assert again["organization"]["memberCount"] == 0 and again["errors"] == []


async def test_removing_an_organization_member_also_removes_their_groups_there(
    as_owner: GraphQLClient, engine: AsyncEngine
) -> None:
    acme = await create_organization(as_owner, "acme")
    globex = await create_organization(as_owner, "globex")
    user_id = await create_user(as_owner, "ada", [acme, globex])
    acme_group = await create_group(as_owner, acme, "eng")
    globex_group = await create_group(as_owner, globex, "eng")
    for group_id in (acme_group, globex_group):
        added = await as_owner.data(ADD_GROUP_MEMBERS, {"input": {"groupId": group_id, "userIds": [user_id]}})
        assert added["addGroupMembers"]["errors"] == []

    await as_owner.data(REMOVE_MEMBER, {"input": {"organizationId": acme, "userId": user_id}})

    user = await as_owner.data(
        "query ($id: ID!) { user(id: $id) { organizations { name } groups { id } } }", {"id": user_id}
    )
    assert user["user"]["organizations"] == [{"name": "globex"}]
    assert {g["id"] for g in user["user"]["groups"]} == {globex, globex_group}


async def test_membership_of_unknown_organization_or_user_is_not_found(as_owner: GraphQLClient) -> None:
    organization_id = await create_organization(as_owner, "acme")
    user_id = await create_user(as_owner, "ada")
    unknown = str(uuid.uuid4())
    for mutation, field in (
        (ADD_MEMBER, "addOrganizationMember"),
        (REMOVE_MEMBER, "removeOrganizationMember"),
    ):
        no_org = await as_owner.data(mutation, {"input": {"organizationId": unknown, "userId": user_id}})
        assert no_org[field]["organization"] is None
        assert [(e["code"], e["field"]) for e in no_org[field]["errors"]] == [
            ("ORGANIZATION_NOT_FOUND", ["input", "organizationId"])
        ]
        no_user = await as_owner.data(
            mutation, {"input": {"organizationId": organization_id, "userId": unknown}}
        )
        assert [(e["code"], e["field"]) for e in no_user[field]["errors"]] == [
            ("USER_NOT_FOUND", ["input", "userId"])
        ]


async def test_a_malformed_id_is_bad_user_input(as_owner: GraphQLClient) -> None:
    body = await as_owner.execute(
        ADD_MEMBER, {"input": {"organizationId": "nope", "userId": str(uuid.uuid4())}}
    )
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


# --- users -----------------------------------------------------------------------------------------


async def test_create_user_with_defaults_and_organizations(as_owner: GraphQLClient) -> None:
    acme = await create_organization(as_owner, "acme")
    globex = await create_organization(as_owner, "globex")
    data = await as_owner.data(
        CREATE_USER,
        {
            "input": {
                "username": "ada",
                "name": "Ada Lovelace",
                "email": "ada@example.com",
                "organizationIds": [globex, acme],
            }
        },
    )
    assert data["createUser"] == {
        "user": {
            "id": data["createUser"]["user"]["id"],
            "username": "ada",
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "role": "MEMBER",
            "isSystem": False,
            "deleted": False,
            "organizations": [{"name": "acme"}, {"name": "globex"}],
        },
        "errors": [],
    }


async def test_create_user_with_role_and_system_flag(as_owner: GraphQLClient) -> None:
    data = await as_owner.data(
        CREATE_USER, {"input": {"username": "ci-bot", "role": "AUDITOR", "isSystem": True}}
    )
    user = data["createUser"]["user"]
    assert (user["role"], user["isSystem"]) == ("AUDITOR", True)


async def test_create_user_with_an_unknown_organization_creates_nothing(
    as_owner: GraphQLClient, engine: AsyncEngine
) -> None:
    acme = await create_organization(as_owner, "acme")
    data = await as_owner.data(
        CREATE_USER, {"input": {"username": "ada", "organizationIds": [acme, str(uuid.uuid4())]}}
    )
    assert data["createUser"]["user"] is None
    assert [(e["code"], e["field"]) for e in data["createUser"]["errors"]] == [
        ("ORGANIZATION_NOT_FOUND", ["input", "organizationIds", "1"])
    ]
    assert await count(engine, "SELECT count(*) FROM users WHERE username = 'ada'") == 0
    assert await count(engine, "SELECT count(*) FROM organization_members") == 0


async def test_usernames_are_unique_among_live_users(as_owner: GraphQLClient) -> None:
    first = await create_user(as_owner, "ada")
    data = await as_owner.data(CREATE_USER, {"input": {"username": "Ada"}})
    assert [(e["code"], e["field"]) for e in data["createUser"]["errors"]] == [
        ("ALREADY_EXISTS", ["input", "username"])
    ]

    await as_owner.data(DELETE_USER, {"input": {"userId": first}})
    second = await create_user(as_owner, "ada")
    assert second != first


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("username", "a b"),
        ("username", ""),
        ("email", "not-an-email"),
        ("name", "x" * 129),
        ("avatarUrl", "x" * 2049),
    ],
)
async def test_bad_user_fields_are_invalid_input(
    as_owner: GraphQLClient, engine: AsyncEngine, field: str, value: str
) -> None:
    data = await as_owner.data(CREATE_USER, {"input": {"username": "ada", field: value}})
    assert [(e["code"], e["field"]) for e in data["createUser"]["errors"]] == [
        ("INVALID_INPUT", ["input", field])
    ]
    assert await count(engine, "SELECT count(*) FROM users WHERE NOT is_system AND role = 'member'") == 0


async def test_delete_user_leaves_everything_keeps_history_and_revokes_tokens(
    as_owner: GraphQLClient, client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    acme = await create_organization(as_owner, "acme")
    user_id = await create_user(as_owner, "ada", [acme])
    group_id = await create_group(as_owner, acme, "eng")
    await as_owner.data(ADD_GROUP_MEMBERS, {"input": {"groupId": group_id, "userIds": [user_id]}})
    token = (await as_owner.data(CREATE_TOKEN, {"input": {"name": "laptop", "userId": user_id}}))[
        "createApiToken"
    ]
    chat = await as_owner.data(
        "mutation ($o: ID!, $org: ID!) { createChat(input: {ownerId: $o, organizationId: $org}) { chat { id } } }",
        {"o": user_id, "org": acme},
    )
    chat_id = chat["createChat"]["chat"]["id"]
    await as_owner.data(
        "mutation ($c: ID!) { recordChatMessage(input: {chatId: $c, role: ASSISTANT, totalCostMicros: 700}) { errors { code } } }",
        {"c": chat_id},
    )

    data = await as_owner.data(DELETE_USER, {"input": {"userId": user_id}})
    assert data["deleteUser"] == {
        "user": {"id": user_id, "deleted": True, "organizations": [], "groups": []},
        "errors": [],
    }
    group = await as_owner.data("query ($id: ID!) { group(id: $id) { memberCount } }", {"id": group_id})
    assert group["group"]["memberCount"] == 0
    organization = await as_owner.data(
        "query ($id: ID!) { organization(id: $id) { memberCount } }", {"id": acme}
    )
    assert organization["organization"]["memberCount"] == 0
    assert (await GraphQLClient(client, token["token"]).post("{ viewer { id } }")).status_code == 401
    assert (
        await count(
            engine, "SELECT count(*) FROM api_tokens WHERE user_id = :u AND revoked_at IS NULL", u=user_id
        )
        == 0
    )
    # Spend history stays: the chat, its message and the rollup row are untouched.
    chat_cost = await as_owner.data(
        "query ($id: ID!) { chat(id: $id) { totalCostMicros owner { deleted } } }", {"id": chat_id}
    )
    assert chat_cost["chat"] == {"totalCostMicros": 700, "owner": {"deleted": True}}
    assert (
        await count(engine, "SELECT sum(spend_micros) FROM chat_spend_daily WHERE user_id = :u", u=user_id)
        == 700
    )

    again = await as_owner.data(DELETE_USER, {"input": {"userId": user_id}})
    assert again["deleteUser"]["errors"] == [] and again["deleteUser"]["user"]["deleted"] is True


async def test_delete_unknown_user_is_user_not_found(as_owner: GraphQLClient) -> None:
    data = await as_owner.data(DELETE_USER, {"input": {"userId": str(uuid.uuid4())}})
    assert data["deleteUser"] == {
        "user": None,
        "errors": [{"code": "USER_NOT_FOUND", "field": ["input", "userId"]}],
    }


# --- groups ----------------------------------------------------------------------------------------


async def test_create_group_and_duplicate_name(as_owner: GraphQLClient) -> None:
    acme = await create_organization(as_owner, "acme")
    data = await as_owner.data(
        CREATE_GROUP, {"input": {"organizationId": acme, "name": "eng", "displayName": "Engineering"}}
    )
    assert data["createGroup"]["group"] | {"id": None} == {
        "id": None,
        "name": "eng",
        "displayName": "Engineering",
        "isEveryone": False,
        "organization": {"name": "acme"},
    }
    again = await as_owner.data(CREATE_GROUP, {"input": {"organizationId": acme, "name": "eng"}})
    assert [(e["code"], e["field"]) for e in again["createGroup"]["errors"]] == [
        ("ALREADY_EXISTS", ["input", "name"])
    ]
    everyone = await as_owner.data(CREATE_GROUP, {"input": {"organizationId": acme, "name": "Everyone"}})
    assert everyone["createGroup"]["errors"][0]["code"] == "ALREADY_EXISTS"


async def test_same_group_name_in_two_organizations_is_fine(as_owner: GraphQLClient) -> None:
    acme = await create_organization(as_owner, "acme")
    globex = await create_organization(as_owner, "globex")
    assert await create_group(as_owner, acme, "eng") != await create_group(as_owner, globex, "eng")


async def test_create_group_in_unknown_organization(as_owner: GraphQLClient, engine: AsyncEngine) -> None:
    data = await as_owner.data(CREATE_GROUP, {"input": {"organizationId": str(uuid.uuid4()), "name": "eng"}})
    assert [(e["code"], e["field"]) for e in data["createGroup"]["errors"]] == [
        ("ORGANIZATION_NOT_FOUND", ["input", "organizationId"])
    ]
    assert await count(engine, "SELECT count(*) FROM groups") == 0


async def test_add_and_remove_group_members(as_owner: GraphQLClient) -> None:
    acme = await create_organization(as_owner, "acme")
    ada = await create_user(as_owner, "ada", [acme])
    bob = await create_user(as_owner, "bob", [acme])
    group_id = await create_group(as_owner, acme, "eng")

    added = await as_owner.data(
        ADD_GROUP_MEMBERS, {"input": {"groupId": group_id, "userIds": [ada, bob, ada]}}
    )
    assert added["addGroupMembers"] == {"group": {"id": group_id, "memberCount": 2}, "errors": []}
    again = await as_owner.data(ADD_GROUP_MEMBERS, {"input": {"groupId": group_id, "userIds": [ada]}})
    assert again["addGroupMembers"]["group"]["memberCount"] == 2

    removed = await as_owner.data(REMOVE_GROUP_MEMBERS, {"input": {"groupId": group_id, "userIds": [bob]}})
    assert removed["removeGroupMembers"] == {"group": {"id": group_id, "memberCount": 1}, "errors": []}
    again = await as_owner.data(REMOVE_GROUP_MEMBERS, {"input": {"groupId": group_id, "userIds": [bob]}})
    assert again["removeGroupMembers"]["group"]["memberCount"] == 1


async def test_group_members_must_belong_to_the_groups_organization(
    as_owner: GraphQLClient, engine: AsyncEngine
) -> None:
    acme = await create_organization(as_owner, "acme")
    globex = await create_organization(as_owner, "globex")
    ada = await create_user(as_owner, "ada", [acme])
    outsider = await create_user(as_owner, "olga", [globex])
    group_id = await create_group(as_owner, acme, "eng")

    data = await as_owner.data(
        ADD_GROUP_MEMBERS, {"input": {"groupId": group_id, "userIds": [ada, outsider]}}
    )
    assert data["addGroupMembers"]["group"] is None
    assert data["addGroupMembers"]["errors"] == [
        {
            "code": "INVALID_INPUT",
            "message": "Group members must be members of the group's organization.",
            "field": ["input", "userIds", "1"],
        }
    ]
    # All or nothing: ada was not added either.
    assert await count(engine, "SELECT count(*) FROM group_members") == 0


async def test_group_members_must_be_known_live_users(as_owner: GraphQLClient) -> None:
    acme = await create_organization(as_owner, "acme")
    ada = await create_user(as_owner, "ada", [acme])
    group_id = await create_group(as_owner, acme, "eng")
    await as_owner.data(DELETE_USER, {"input": {"userId": ada}})
    for user_id in (ada, str(uuid.uuid4())):
        data = await as_owner.data(ADD_GROUP_MEMBERS, {"input": {"groupId": group_id, "userIds": [user_id]}})
        assert [(e["code"], e["field"]) for e in data["addGroupMembers"]["errors"]] == [
            ("USER_NOT_FOUND", ["input", "userIds", "0"])
        ]
    removed = await as_owner.data(
        REMOVE_GROUP_MEMBERS, {"input": {"groupId": group_id, "userIds": [str(uuid.uuid4())]}}
    )
    assert removed["removeGroupMembers"]["errors"][0]["code"] == "USER_NOT_FOUND"


async def test_the_everyone_group_cannot_be_edited(as_owner: GraphQLClient) -> None:
    acme = await create_organization(as_owner, "acme")
    ada = await create_user(as_owner, "ada", [acme])
    for mutation, field in (
        (ADD_GROUP_MEMBERS, "addGroupMembers"),
        (REMOVE_GROUP_MEMBERS, "removeGroupMembers"),
    ):
        data = await as_owner.data(mutation, {"input": {"groupId": acme, "userIds": [ada]}})
        assert data[field]["group"] is None
        [error] = data[field]["errors"]
        assert (error["code"], error["field"]) == ("INVALID_INPUT", ["input", "groupId"])
        assert "Everyone group cannot be edited" in error["message"]


async def test_unknown_group_is_group_not_found(as_owner: GraphQLClient) -> None:
    data = await as_owner.data(ADD_GROUP_MEMBERS, {"input": {"groupId": str(uuid.uuid4()), "userIds": []}})
    assert [(e["code"], e["field"]) for e in data["addGroupMembers"]["errors"]] == [
        ("GROUP_NOT_FOUND", ["input", "groupId"])
    ]


# --- chat models -----------------------------------------------------------------------------------


async def test_upsert_chat_model_creates_then_replaces_prices_and_enabled(as_owner: GraphQLClient) -> None:
    created = await as_owner.data(
        UPSERT_MODEL,
        {
            "input": {
                "provider": "anthropic",
                "model": "claude-sonnet-4-5",
                "pricing": {
                    "inputPricePerMillionTokens": 3_000_000,
                    "outputPricePerMillionTokens": "15000000",
                    "cacheReadPricePerMillionTokens": 300_000,
                    "cacheWritePricePerMillionTokens": 3_750_000,
                },
            }
        },
    )
    model = created["upsertChatModel"]["chatModel"]
    assert (model["enabled"], model["isPriced"]) == (True, True)
    assert model["pricing"] == {
        "inputPricePerMillionTokens": 3_000_000,
        "outputPricePerMillionTokens": 15_000_000,
        "cacheReadPricePerMillionTokens": 300_000,
        "cacheWritePricePerMillionTokens": 3_750_000,
    }

    replaced = await as_owner.data(
        UPSERT_MODEL,
        {
            "input": {
                "provider": "anthropic",
                "model": "claude-sonnet-4-5",
                "enabled": False,
                "pricing": {"cacheReadPricePerMillionTokens": 1},
            }
        },
    )
    again = replaced["upsertChatModel"]["chatModel"]
    assert again["id"] == model["id"]
    assert (again["enabled"], again["isPriced"]) == (False, False)
    assert again["pricing"] == {
        "inputPricePerMillionTokens": None,
        "outputPricePerMillionTokens": None,
        "cacheReadPricePerMillionTokens": 1,
        "cacheWritePricePerMillionTokens": None,
    }
    models = await as_owner.data("{ chatModels { id } }")
    assert models["chatModels"] == [{"id": model["id"]}]


async def test_negative_price_or_bad_model_name_is_invalid_input(
    as_owner: GraphQLClient, engine: AsyncEngine
) -> None:
    data = await as_owner.data(
        UPSERT_MODEL,
        {"input": {"provider": "openai", "model": "gpt-4o", "pricing": {"outputPricePerMillionTokens": -1}}},
    )
    assert [(e["code"], e["field"]) for e in data["upsertChatModel"]["errors"]] == [
        ("INVALID_INPUT", ["input", "pricing", "outputPricePerMillionTokens"])
    ]
    data = await as_owner.data(UPSERT_MODEL, {"input": {"provider": "openai", "model": "gpt 4o"}})
    assert [(e["code"], e["field"]) for e in data["upsertChatModel"]["errors"]] == [
        ("INVALID_INPUT", ["input", "model"])
    ]
    assert await count(engine, "SELECT count(*) FROM chat_models") == 0


# --- API tokens ------------------------------------------------------------------------------------


async def test_create_api_token_for_a_user_returns_a_working_secret_once(
    as_owner: GraphQLClient, client: httpx.AsyncClient
) -> None:
    user_id = await create_user(as_owner, "ada")
    data = await as_owner.data(CREATE_TOKEN, {"input": {"name": "laptop", "userId": user_id}})
    created = data["createApiToken"]
    assert created["errors"] == []
    assert created["apiToken"]["name"] == "laptop"
    assert created["apiToken"]["user"] == {"username": "ada"}
    assert created["apiToken"]["service"] is None
    viewer = await GraphQLClient(client, created["token"]).data("{ viewer { username } }")
    assert viewer == {"viewer": {"username": "ada"}}


async def test_create_api_token_for_the_chat_daemon(
    as_owner: GraphQLClient, client: httpx.AsyncClient
) -> None:
    data = await as_owner.data(CREATE_TOKEN, {"input": {"name": "chatd", "service": "CHATD"}})
    created = data["createApiToken"]
    assert created["apiToken"]["service"] == "CHATD" and created["apiToken"]["user"] is None
    assert await GraphQLClient(client, created["token"]).data("{ viewer { id } }") == {"viewer": None}


@pytest.mark.parametrize("who", [{}, {"service": "CHATD", "userId": "USER"}])
async def test_create_api_token_needs_exactly_one_of_user_and_service(
    as_owner: GraphQLClient, engine: AsyncEngine, who: dict[str, str]
) -> None:
    user_id = await create_user(as_owner, "ada")
    who = {k: user_id if v == "USER" else v for k, v in who.items()}
    before = await count(engine, "SELECT count(*) FROM api_tokens")
    data = await as_owner.data(CREATE_TOKEN, {"input": {"name": "x", **who}})
    assert data["createApiToken"]["token"] is None
    assert [e["code"] for e in data["createApiToken"]["errors"]] == ["INVALID_INPUT"]
    assert await count(engine, "SELECT count(*) FROM api_tokens") == before


async def test_create_api_token_for_unknown_user_is_user_not_found(as_owner: GraphQLClient) -> None:
    data = await as_owner.data(CREATE_TOKEN, {"input": {"name": "x", "userId": str(uuid.uuid4())}})
    assert [(e["code"], e["field"]) for e in data["createApiToken"]["errors"]] == [
        ("USER_NOT_FOUND", ["input", "userId"])
    ]


async def test_revoked_token_is_refused_from_the_next_request(
    as_owner: GraphQLClient, client: httpx.AsyncClient
) -> None:
    created = (await as_owner.data(CREATE_TOKEN, {"input": {"name": "chatd", "service": "CHATD"}}))[
        "createApiToken"
    ]
    daemon = GraphQLClient(client, created["token"])
    assert (await daemon.post("{ viewer { id } }")).status_code == 200

    data = await as_owner.data(REVOKE_TOKEN, {"input": {"tokenId": created["apiToken"]["id"]}})
    assert data["revokeApiToken"] == {"revokedTokenId": created["apiToken"]["id"], "errors": []}
    assert (await daemon.post("{ viewer { id } }")).status_code == 401

    unknown = await as_owner.data(REVOKE_TOKEN, {"input": {"tokenId": str(uuid.uuid4())}})
    assert unknown["revokeApiToken"] == {
        "revokedTokenId": None,
        "errors": [
            {"code": "TOKEN_NOT_FOUND", "message": "API token not found.", "field": ["input", "tokenId"]}
        ],
    }


# --- who may call what -----------------------------------------------------------------------------

_ID = str(uuid.uuid4())
DIRECTORY_WRITES = [
    (CREATE_ORGANIZATION, {"input": {"name": "acme"}}),
    (CREATE_USER, {"input": {"username": "ada"}}),
    (DELETE_USER, {"input": {"userId": _ID}}),
    (ADD_MEMBER, {"input": {"organizationId": _ID, "userId": _ID}}),
    (REMOVE_MEMBER, {"input": {"organizationId": _ID, "userId": _ID}}),
    (CREATE_GROUP, {"input": {"organizationId": _ID, "name": "eng"}}),
    (ADD_GROUP_MEMBERS, {"input": {"groupId": _ID, "userIds": [_ID]}}),
    (REMOVE_GROUP_MEMBERS, {"input": {"groupId": _ID, "userIds": [_ID]}}),
    (UPSERT_MODEL, {"input": {"provider": "openai", "model": "gpt-4o"}}),
    (CREATE_TOKEN, {"input": {"name": "x", "service": "CHATD"}}),
    (REVOKE_TOKEN, {"input": {"tokenId": _ID}}),
]


@pytest.fixture(params=["auditor", "member", "chatd"])
async def not_owner(
    request: pytest.FixtureRequest, client: httpx.AsyncClient, engine: AsyncEngine
) -> GraphQLClient:
    if request.param == "chatd":
        return GraphQLClient(client, await make_token(engine, service=Service.CHATD))
    user = await make_user(engine, Role(request.param))
    return GraphQLClient(client, await make_token(engine, user))


async def directory_size(engine: AsyncEngine) -> int:
    return await count(
        engine,
        "SELECT (SELECT count(*) FROM organizations) + (SELECT count(*) FROM users)"
        " + (SELECT count(*) FROM organization_members) + (SELECT count(*) FROM groups)"
        " + (SELECT count(*) FROM chat_models) + (SELECT count(*) FROM api_tokens WHERE revoked_at IS NULL)",
    )


@pytest.mark.parametrize(("mutation", "variables"), DIRECTORY_WRITES)
async def test_only_owners_write_the_directory(
    not_owner: GraphQLClient, engine: AsyncEngine, mutation: str, variables: dict[str, Any]
) -> None:
    before = await directory_size(engine)
    body = await not_owner.execute(mutation, variables)
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    assert await directory_size(engine) == before
