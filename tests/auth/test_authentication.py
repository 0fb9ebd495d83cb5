"""Bearer tokens over HTTP: every 401 case, revocation, deleted users, last-used time."""

import asyncio
import hashlib

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.auth.principal import Role, Service
from spendlimits.auth.tokens import revoke_token
from tests.conftest import GraphQLClient, make_token, make_user

VIEWER = "{ viewer { username role } }"


def assert_unauthenticated(response: httpx.Response) -> None:
    assert response.status_code == 401
    assert response.json() == {
        "errors": [
            {"message": response.json()["errors"][0]["message"], "extensions": {"code": "UNAUTHENTICATED"}}
        ]
    }


async def test_a_valid_token_reaches_its_user(as_owner: GraphQLClient) -> None:
    assert await as_owner.data(VIEWER) == {"viewer": {"username": "owner", "role": "OWNER"}}


async def test_a_service_token_has_no_viewer(as_chatd: GraphQLClient) -> None:
    assert await as_chatd.data(VIEWER) == {"viewer": None}


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer sl_not-a-real-token", "Token abc"],
)
async def test_missing_or_unknown_tokens_get_401(client: httpx.AsyncClient, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    response = await client.post("/graphql", json={"query": VIEWER}, headers=headers)
    assert_unauthenticated(response)


async def test_a_revoked_token_is_refused_at_once(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    user = await make_user(engine, Role.OWNER)
    secret = await make_token(engine, user)
    gql = GraphQLClient(client, secret)
    assert (await gql.post(VIEWER)).status_code == 200
    async with engine.begin() as conn:
        token_id = await conn.scalar(
            text("SELECT id FROM api_tokens WHERE secret_hash = :h"),
            {"h": hashlib.sha256(secret.encode()).digest()},
        )
        await revoke_token(conn, token_id)
    assert_unauthenticated(await gql.post(VIEWER))


async def test_a_deleted_users_token_is_refused(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    # An auditor: the database refuses to delete the last owner (migration 000004).
    user = await make_user(engine, Role.AUDITOR)
    gql = GraphQLClient(client, await make_token(engine, user))
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE users SET deleted = true WHERE id = :id"), {"id": user.id})
    assert_unauthenticated(await gql.post(VIEWER))


async def test_use_stamps_last_used_and_only_the_hash_is_stored(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    secret = await make_token(engine, service=Service.CHATD)
    await GraphQLClient(client, secret).data(VIEWER)
    async with engine.connect() as conn:
        row = (await conn.execute(text("SELECT secret_hash, last_used_at FROM api_tokens"))).one()
        stored = (await conn.execute(text("SELECT string_agg(t::text, ' ') FROM api_tokens t"))).scalar_one()
    assert row.last_used_at is not None
    assert bytes(row.secret_hash) == hashlib.sha256(secret.encode()).digest()
    assert secret not in stored


async def test_a_request_does_not_wait_for_another_transaction_stamping_its_token(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """The daemon sends every check with one token: when its once-a-minute stamp is due, the
    requests in flight must not queue behind the one that writes it (its row lock lasts until its
    commit, a WAL flush). Measured before: one stamp's slow commit held up every concurrent check
    of the daemon, enough to lift the decision listener's p99 from 4 ms to 128 ms."""
    secret = await make_token(engine, service=Service.CHATD)
    gql = GraphQLClient(client, secret)
    stale = text("UPDATE api_tokens SET last_used_at = now() - interval '2 minutes' RETURNING last_used_at")
    async with engine.begin() as conn:
        due = (await conn.execute(stale)).scalar_one()
    async with engine.connect() as holder:
        # Another request's stamp, not yet committed: the row is locked until this block ends.
        await holder.execute(text("SELECT id FROM api_tokens FOR UPDATE"))
        # Answered while the lock is still held (it would otherwise wait for the rollback below).
        answer = await asyncio.wait_for(gql.data(VIEWER), timeout=10)
        assert answer == {"viewer": None}
        await holder.rollback()
    async with engine.connect() as conn:
        skipped = (await conn.execute(text("SELECT last_used_at FROM api_tokens"))).scalar_one()
    assert skipped == due  # the stamp was left to the lock's holder, not waited for
    await gql.data(VIEWER)
    async with engine.connect() as conn:
        stamped = (await conn.execute(text("SELECT last_used_at FROM api_tokens"))).scalar_one()
    assert stamped > due  # with the row free, the next request stamps it


async def test_graphiql_page_needs_no_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_get_queries_work_and_get_mutations_are_refused(as_owner: GraphQLClient) -> None:
    headers = {"Authorization": f"Bearer {as_owner.token}"}
    ok = await as_owner.http.get("/graphql", params={"query": VIEWER}, headers=headers)
    assert ok.status_code == 200 and ok.json()["data"]["viewer"]["username"] == "owner"
    refused = await as_owner.http.get(
        "/graphql", params={"query": "mutation { __typename }"}, headers=headers
    )
    assert refused.status_code in (400, 405)


async def test_oversized_bodies_get_413(as_owner: GraphQLClient, settings: object) -> None:
    response = await as_owner.http.post(
        "/graphql",
        content=b'{"query": "' + b" " * 2_000_000 + b'{ viewer { id } }"}',
        headers={"Authorization": f"Bearer {as_owner.token}", "Content-Type": "application/json"},
    )
    assert response.status_code == 413
