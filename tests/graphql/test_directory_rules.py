"""Rules that close ways around a limit or around administration, over HTTP (issue 17):
a child chat stays in its parent's organization, the last owner stays, a deleted user's override
goes with them."""

import asyncio
import uuid
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.auth.principal import Role
from spendlimits.directory.users import User
from tests.conftest import GraphQLClient, make_token, make_user
from tests.directory.factories import Factory

CREATE_CHAT = """
mutation ($input: CreateChatInput!) {
  createChat(input: $input) { chat { id organization { name } } errors { code message field } }
}
"""
DELETE_USER = """
mutation ($id: ID!) { deleteUser(input: {userId: $id}) { user { id deleted } errors { code message field } } }
"""
UPDATE_USER = """
mutation ($input: UpdateUserInput!) {
  updateUser(input: $input) { user { id role name email } errors { code message field } }
}
"""
UPSERT_OVERRIDE = """
mutation ($id: ID!) {
  upsertChatUsageLimitOverride(input: {userId: $id, spendLimitMicros: 5000000}) { errors { code } }
}
"""
OVERRIDES = "{ chatUsageLimitConfig { overrides { totalCount nodes { user { username } } } } }"
LAST_OWNER = {
    "code": "LAST_OWNER",
    "message": "The last owner cannot be deleted or demoted: make another user an owner first.",
    "field": ["input", "userId"],
}


async def scalar(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as conn:
        return await conn.scalar(text(sql), params)


# --- a child chat belongs to its parent's organization ----------------------------------------------


async def test_a_child_chat_in_another_organization_than_its_parent_is_refused(
    as_chatd: GraphQLClient, engine: AsyncEngine
) -> None:
    make = Factory(engine)
    acme, beta = await make.organization("acme"), await make.organization("beta")
    ada = await make.user("ada", organizations=(acme, beta))
    parent = await as_chatd.data(CREATE_CHAT, {"input": {"ownerId": str(ada), "organizationId": str(acme)}})
    parent_id = parent["createChat"]["chat"]["id"]

    escaped = await as_chatd.data(
        CREATE_CHAT, {"input": {"ownerId": str(ada), "organizationId": str(beta), "parentChatId": parent_id}}
    )
    assert escaped["createChat"] == {
        "chat": None,
        "errors": [
            {
                "code": "INVALID_INPUT",
                "message": "A child chat must be in its parent chat's organization.",
                "field": ["input", "organizationId"],
            }
        ],
    }
    assert await scalar(engine, "SELECT count(*) FROM chats") == 1

    child = await as_chatd.data(
        CREATE_CHAT, {"input": {"ownerId": str(ada), "organizationId": str(acme), "parentChatId": parent_id}}
    )
    assert child["createChat"]["chat"]["organization"] == {"name": "acme"}


def outcome(body: dict[str, Any], field: str) -> list[str]:
    """ "" for success, else the error's code, top-level or in the payload."""
    if body.get("errors"):
        return [e["extensions"]["code"] for e in body["errors"]]
    return [e["code"] for e in body["data"][field]["errors"]] or [""]


# --- the last owner ----------------------------------------------------------------------------------


async def test_the_last_owner_cannot_delete_themselves(
    as_owner: GraphQLClient, engine: AsyncEngine, owner: User
) -> None:
    data = await as_owner.data(DELETE_USER, {"id": str(owner.id)})
    assert data["deleteUser"] == {"user": None, "errors": [LAST_OWNER]}
    assert await scalar(engine, "SELECT deleted FROM users WHERE id = :id", id=owner.id) is False
    # The token still works: nothing was written.
    assert (await as_owner.data("{ viewer { role } }"))["viewer"] == {"role": "OWNER"}


async def test_the_last_owner_cannot_be_demoted(
    as_owner: GraphQLClient, engine: AsyncEngine, owner: User
) -> None:
    data = await as_owner.data(
        UPDATE_USER, {"input": {"userId": str(owner.id), "role": "AUDITOR", "name": "X"}}
    )
    assert data["updateUser"] == {"user": None, "errors": [LAST_OWNER]}
    assert (
        await scalar(engine, "SELECT role || '/' || name FROM users WHERE id = :id", id=owner.id) == "owner/"
    )


async def test_an_owner_can_go_once_another_owner_exists(
    as_owner: GraphQLClient, engine: AsyncEngine, owner: User
) -> None:
    second = await make_user(engine, Role.MEMBER, username="second")
    promoted = await as_owner.data(UPDATE_USER, {"input": {"userId": str(second.id), "role": "OWNER"}})
    assert promoted["updateUser"]["user"]["role"] == "OWNER"
    demoted = await as_owner.data(UPDATE_USER, {"input": {"userId": str(owner.id), "role": "MEMBER"}})
    assert demoted["updateUser"] == {
        "user": {"id": str(owner.id), "role": "MEMBER", "name": "", "email": None},
        "errors": [],
    }
    # Now `second` is the last one.
    as_second = GraphQLClient(as_owner.http, await make_token(engine, second))
    refused = await as_second.data(DELETE_USER, {"id": str(second.id)})
    assert refused["deleteUser"]["errors"] == [LAST_OWNER]


async def test_deleting_or_demoting_a_member_needs_no_owner_left(
    as_owner: GraphQLClient, engine: AsyncEngine
) -> None:
    member = await make_user(engine, Role.MEMBER, username="m")
    auditor = await make_user(engine, Role.AUDITOR, username="a")
    assert (await as_owner.data(DELETE_USER, {"id": str(member.id)}))["deleteUser"]["errors"] == []
    changed = await as_owner.data(UPDATE_USER, {"input": {"userId": str(auditor.id), "role": "MEMBER"}})
    assert changed["updateUser"]["errors"] == []


async def test_two_owners_demoting_each_other_at_once_leave_one_owner(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    for _ in range(5):
        first = await make_user(engine, Role.OWNER)
        second = await make_user(engine, Role.OWNER)
        async with engine.begin() as conn:
            # The survivor of the previous round steps aside: these two are the only owners.
            await conn.execute(
                text("UPDATE users SET role = 'member' WHERE role = 'owner' AND id NOT IN (:a, :b)"),
                {"a": first.id, "b": second.id},
            )
        as_first = GraphQLClient(client, await make_token(engine, first))
        as_second = GraphQLClient(client, await make_token(engine, second))
        demoted, deleted = await asyncio.gather(
            as_first.execute(UPDATE_USER, {"input": {"userId": str(second.id), "role": "MEMBER"}}),
            as_second.execute(DELETE_USER, {"id": str(first.id)}),
        )
        # One wins. The other either raced it in the database (LAST_OWNER) or was authenticated
        # after it and is no owner any more (FORBIDDEN). tests/directory/test_owners.py forces the race.
        outcomes = sorted(outcome(demoted, "updateUser") + outcome(deleted, "deleteUser"))
        assert outcomes[0] == "" and outcomes[1] in {"FORBIDDEN", "LAST_OWNER"}, outcomes
        assert await scalar(engine, "SELECT count(*) FROM users WHERE role = 'owner' AND NOT deleted") == 1


async def test_update_user_changes_the_profile_and_refuses_bad_input(
    as_owner: GraphQLClient, engine: AsyncEngine
) -> None:
    ada = await make_user(engine, Role.MEMBER, username="ada", email="ada@example.org")
    kept = await as_owner.data(UPDATE_USER, {"input": {"userId": str(ada.id), "name": "Ada L."}})
    assert kept["updateUser"]["user"] == {
        "id": str(ada.id),
        "role": "MEMBER",
        "name": "Ada L.",
        "email": "ada@example.org",
    }
    cleared = await as_owner.data(UPDATE_USER, {"input": {"userId": str(ada.id), "email": None}})
    assert cleared["updateUser"]["user"]["email"] is None
    bad = await as_owner.data(UPDATE_USER, {"input": {"userId": str(ada.id), "email": "nope"}})
    assert [(e["code"], e["field"]) for e in bad["updateUser"]["errors"]] == [
        ("INVALID_INPUT", ["input", "email"])
    ]
    missing = await as_owner.data(UPDATE_USER, {"input": {"userId": str(uuid.uuid4()), "role": "OWNER"}})
    assert [e["code"] for e in missing["updateUser"]["errors"]] == ["USER_NOT_FOUND"]


async def test_update_user_is_for_owners_only(as_auditor: GraphQLClient, member: User) -> None:
    body = await as_auditor.execute(UPDATE_USER, {"input": {"userId": str(member.id), "role": "OWNER"}})
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]


# --- a deleted user's override ----------------------------------------------------------------------


async def test_deleting_a_user_clears_their_override_for_good(
    as_owner: GraphQLClient, engine: AsyncEngine
) -> None:
    ada = await make_user(engine, Role.MEMBER, username="ada")
    assert (await as_owner.data(UPSERT_OVERRIDE, {"id": str(ada.id)}))["upsertChatUsageLimitOverride"][
        "errors"
    ] == []
    assert (await as_owner.data(OVERRIDES))["chatUsageLimitConfig"]["overrides"]["totalCount"] == 1

    assert (await as_owner.data(DELETE_USER, {"id": str(ada.id)}))["deleteUser"]["errors"] == []
    assert (await as_owner.data(OVERRIDES))["chatUsageLimitConfig"]["overrides"] == {
        "totalCount": 0,
        "nodes": [],
    }
    assert await scalar(engine, "SELECT chat_spend_limit_micros FROM users WHERE id = :id", id=ada.id) is None
    # Restored by hand in the database, the user comes back without the old override.
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE users SET deleted = false WHERE id = :id"), {"id": ada.id})
    data = await as_owner.data(
        "query ($id: ID!) { user(id: $id) { chatSpendLimitMicros effectiveChatSpendLimit { source } } }",
        {"id": str(ada.id)},
    )
    assert data["user"]["chatSpendLimitMicros"] is None
