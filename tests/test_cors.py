"""CORS over HTTP: off by default, preflight answered for listed origins, never credentials with "*"."""

from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.app import create_app
from spendlimits.auth.principal import Role
from spendlimits.settings import Settings, SettingsError, cors_origins
from tests.conftest import make_token, make_user

APP_ORIGIN = "http://127.0.0.1:5173"
PREFLIGHT = {
    "Origin": APP_ORIGIN,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type",
}


@pytest.fixture
async def allowed(engine: AsyncEngine, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(engine, replace(settings, cors_origins=(APP_ORIGIN,)))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as http:
        yield http


async def test_no_origin_is_allowed_by_default(client: httpx.AsyncClient) -> None:
    preflight = await client.options("/graphql", headers=PREFLIGHT)
    assert "access-control-allow-origin" not in preflight.headers
    answer = await client.post(
        "/graphql", json={"query": "{ viewer { id } }"}, headers={"Origin": APP_ORIGIN}
    )
    assert "access-control-allow-origin" not in answer.headers


async def test_preflight_is_answered_for_a_listed_origin(allowed: httpx.AsyncClient) -> None:
    preflight = await allowed.options("/graphql", headers=PREFLIGHT)
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == APP_ORIGIN
    assert {"POST", "GET"} <= set(
        preflight.headers["access-control-allow-methods"].replace(" ", "").split(",")
    )
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in preflight.headers


async def test_answers_carry_the_header_for_a_listed_origin_only(
    allowed: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    token = await make_token(engine, await make_user(engine, Role.OWNER, username="web"))
    headers = {"Authorization": f"Bearer {token}", "Origin": APP_ORIGIN}
    answer = await allowed.post("/graphql", json={"query": "{ viewer { username } }"}, headers=headers)
    assert answer.json() == {"data": {"viewer": {"username": "web"}}}
    assert answer.headers["access-control-allow-origin"] == APP_ORIGIN
    # Refusals too, or the page could not read why it was refused.
    refused = await allowed.post(
        "/graphql", json={"query": "{ viewer { id } }"}, headers={"Origin": APP_ORIGIN}
    )
    assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == APP_ORIGIN

    other = await allowed.options("/graphql", headers={**PREFLIGHT, "Origin": "http://127.0.0.1:6666"})
    assert other.status_code == 400 and "access-control-allow-origin" not in other.headers


def test_credentials_never_go_with_a_wildcard(settings: Settings) -> None:
    with pytest.raises(SettingsError, match="cannot go with"):
        replace(settings, cors_origins=("*",), cors_allow_credentials=True)
    assert replace(settings, cors_origins=(APP_ORIGIN,), cors_allow_credentials=True).cors_allow_credentials


def test_origins_are_read_strictly() -> None:
    assert cors_origins(" https://a.example , http://127.0.0.1:8080 ") == (
        "https://a.example",
        "http://127.0.0.1:8080",
    )
    assert cors_origins("") == ()
    for bad in ("a.example", "https://a.example/app", "ftp://a.example"):
        with pytest.raises(SettingsError, match="SPENDLIMITS_CORS_ORIGINS"):
            cors_origins(bad)
