"""Trusted documents over HTTP: documentId and APQ hashes run the registered text; unknown hashes
and, when only registered documents are accepted, unregistered texts are refused with a code."""

import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import build_schema
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.app import create_app
from spendlimits.auth.principal import Role
from spendlimits.graphql.trusted_documents import REGISTRY_PATH, Registry, RegistryError
from spendlimits.settings import Settings
from tests.conftest import make_token, make_user

REGISTERED: dict[str, str] = json.loads(REGISTRY_PATH.read_text())
DAEMON_CHECK = next(h for h, text in REGISTERED.items() if "query DaemonCheck" in text)
UNREGISTERED = "query Mine { viewer { username } }"


async def post(http: httpx.AsyncClient, token: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await http.post("/graphql", json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    decoded: dict[str, Any] = response.json()
    return decoded


@pytest.fixture
async def owner_token(engine: AsyncEngine) -> tuple[str, str]:
    owner = await make_user(engine, Role.OWNER, username="root")
    return await make_token(engine, owner), str(owner.id)


@pytest.mark.parametrize("form", ["sha256:{}", "{}", "SHA256:{}"])
async def test_a_document_id_runs_the_registered_document(
    client: httpx.AsyncClient, owner_token: tuple[str, str], form: str
) -> None:
    token, user_id = owner_token
    by_text = await post(client, token, {"query": REGISTERED[DAEMON_CHECK], "variables": {"userId": user_id}})
    document_id = (
        form.format(DAEMON_CHECK) if not form.startswith("SHA") else "sha256:" + DAEMON_CHECK.upper()
    )
    by_id = await post(client, token, {"documentId": document_id, "variables": {"userId": user_id}})
    assert "errors" not in by_id, by_id
    assert by_id["data"]["chatUsageLimitCheck"]["allowed"] is True
    assert by_id == by_text


async def test_an_apq_hash_runs_the_registered_document(
    client: httpx.AsyncClient, owner_token: tuple[str, str]
) -> None:
    token, user_id = owner_token
    body = {
        "variables": {"userId": user_id},
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": DAEMON_CHECK}},
    }
    answer = await post(client, token, body)
    assert answer["data"]["chatUsageLimitCheck"]["allowed"] is True


async def test_a_document_id_over_get(client: httpx.AsyncClient, owner_token: tuple[str, str]) -> None:
    token, user_id = owner_token
    response = await client.get(
        "/graphql",
        params={
            "documentId": f"sha256:{DAEMON_CHECK}",
            "variables": json.dumps({"userId": user_id, "documentId": 1}),
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["chatUsageLimitCheck"]["allowed"] is True


async def test_unknown_hashes_are_refused_with_the_apq_code(
    client: httpx.AsyncClient, owner_token: tuple[str, str]
) -> None:
    token, _ = owner_token
    unknown = hashlib.sha256(b"nothing registered").hexdigest()
    by_id = await post(client, token, {"documentId": f"sha256:{unknown}"})
    by_apq = await post(
        client, token, {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": unknown}}}
    )
    malformed = await post(client, token, {"documentId": 42})
    for answer in (by_id, by_apq, malformed):
        assert answer["data"] is None
        assert [e["extensions"]["code"] for e in answer["errors"]] == ["PERSISTED_QUERY_NOT_FOUND"]
    assert by_apq["errors"][0]["message"] == "PersistedQueryNotFound"
    assert "documentId" in by_id["errors"][0]["message"]


@pytest.fixture
async def strict_client(engine: AsyncEngine, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(engine, replace(settings, trusted_documents_only=True))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as http:
        yield http


async def test_only_registered_documents_run_when_the_setting_is_on(
    strict_client: httpx.AsyncClient, client: httpx.AsyncClient, owner_token: tuple[str, str]
) -> None:
    token, user_id = owner_token
    refused = await post(strict_client, token, {"query": UNREGISTERED})
    assert refused["data"] is None
    assert [e["extensions"]["code"] for e in refused["errors"]] == ["TRUSTED_DOCUMENT_REQUIRED"]
    # The registered text itself and its id both run.
    assert "errors" not in await post(
        strict_client, token, {"query": REGISTERED[DAEMON_CHECK], "variables": {"userId": user_id}}
    )
    assert "errors" not in await post(
        strict_client, token, {"documentId": DAEMON_CHECK, "variables": {"userId": user_id}}
    )
    # Off by default: the same text runs on the default server.
    assert (await post(client, token, {"query": UNREGISTERED}))["data"]["viewer"]["username"] == "root"


async def test_a_refused_mutation_writes_nothing(
    strict_client: httpx.AsyncClient, engine: AsyncEngine, owner_token: tuple[str, str]
) -> None:
    token, _ = owner_token
    mutation = 'mutation { createOrganization(input: {name: "sneaky"}) { errors { code } } }'
    refused = await post(strict_client, token, {"query": mutation})
    assert refused["errors"][0]["extensions"]["code"] == "TRUSTED_DOCUMENT_REQUIRED"
    listed = await post(strict_client, token, {"documentId": DAEMON_CHECK, "variables": {"userId": "x"}})
    assert listed["errors"]  # a bad id in a registered document is the usual error, not a refusal
    async with engine.connect() as conn:
        assert (
            await conn.execute(text("SELECT count(*) FROM organizations WHERE name = 'sneaky'"))
        ).scalar_one() == 0


SCHEMA = build_schema("type Query { a: Int }")


def write(tmp_path: Path, content: dict[str, str]) -> Path:
    path = tmp_path / "registry.json"
    path.write_text(json.dumps(content))
    return path


def test_every_key_is_checked_against_its_text_at_load(tmp_path: Path) -> None:
    good = "{ a }"
    assert len(Registry.load(write(tmp_path, {hashlib.sha256(good.encode()).hexdigest(): good}), SCHEMA)) == 1
    with pytest.raises(RegistryError, match="not the sha256"):
        Registry.load(write(tmp_path, {hashlib.sha256(b"{ b }").hexdigest(): good}), SCHEMA)
    bad = "{ b }"
    with pytest.raises(RegistryError, match="does not validate"):
        Registry.load(write(tmp_path, {hashlib.sha256(bad.encode()).hexdigest(): bad}), SCHEMA)
    assert len(Registry.load(tmp_path / "missing.json", SCHEMA)) == 0
