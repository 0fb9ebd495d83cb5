"""apiTokens: owners list tokens (never their secrets), page by page, and can revoke by id."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.auth.principal import Role, Service
from tests.conftest import GraphQLClient, make_token, make_user

TOKENS = """
query($first: Int, $after: String, $includeRevoked: Boolean, $userId: ID) {
  apiTokens(first: $first, after: $after, includeRevoked: $includeRevoked, userId: $userId) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { id name user { username } service createdAt lastUsedAt revokedAt }
  }
}
"""


async def test_owner_lists_tokens_with_their_owner_and_use_never_the_secret(
    as_owner: GraphQLClient, engine: AsyncEngine
) -> None:
    ada = await make_user(engine, Role.MEMBER, username="ada")
    ada_secret = await make_token(engine, ada)
    await make_token(engine, service=Service.CHATD)
    # Used once: lastUsedAt is set.
    assert (await GraphQLClient(as_owner.http, ada_secret).data("{ viewer { username } }"))["viewer"]

    body = await as_owner.execute(TOKENS)
    listing = body["data"]["apiTokens"]
    assert listing["totalCount"] == 3  # the owner's own, ada's, chatd's
    by_owner = {(n["user"] or {}).get("username") or n["service"]: n for n in listing["nodes"]}
    assert set(by_owner) == {"owner", "ada", "CHATD"}
    assert by_owner["ada"]["lastUsedAt"] is not None and by_owner["ada"]["revokedAt"] is None
    assert by_owner["CHATD"]["lastUsedAt"] is None
    assert ada_secret not in str(body) and "sl_" not in str(body)


async def test_pages_follow_the_cursor_and_revoked_tokens_can_be_left_out(
    as_owner: GraphQLClient, engine: AsyncEngine
) -> None:
    for _ in range(4):
        await make_token(engine, service=Service.CHATD)
    seen: list[str] = []
    after = None
    while True:
        page = (await as_owner.data(TOKENS, {"first": 2, "after": after}))["apiTokens"]
        seen += [n["id"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == 5

    revoked = await as_owner.data(
        "mutation($id: ID!) { revokeApiToken(input: {tokenId: $id}) { revokedTokenId } }", {"id": seen[0]}
    )
    assert revoked["revokeApiToken"]["revokedTokenId"] == seen[0]
    live = (await as_owner.data(TOKENS, {"includeRevoked": False}))["apiTokens"]
    assert live["totalCount"] == 4 and seen[0] not in [n["id"] for n in live["nodes"]]
    every = (await as_owner.data(TOKENS))["apiTokens"]
    assert next(n for n in every["nodes"] if n["id"] == seen[0])["revokedAt"] is not None


async def test_filter_by_user(as_owner: GraphQLClient, engine: AsyncEngine) -> None:
    ada = await make_user(engine, Role.MEMBER, username="ada")
    await make_token(engine, ada)
    await make_token(engine, ada)
    page = (await as_owner.data(TOKENS, {"userId": str(ada.id)}))["apiTokens"]
    assert page["totalCount"] == 2 and {n["user"]["username"] for n in page["nodes"]} == {"ada"}


async def test_only_owners_list_tokens(
    as_auditor: GraphQLClient, as_member: GraphQLClient, as_chatd: GraphQLClient
) -> None:
    for caller in (as_auditor, as_member, as_chatd):
        body: dict[str, Any] = await caller.execute(TOKENS)
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
