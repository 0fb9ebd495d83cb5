"""The spendlimits command, run as a user would run it."""

import os
import subprocess
import sys
from pathlib import Path

import httpx

from spendlimits.db import migrate
from tests.conftest import ROOT, GraphQLClient


def spendlimits(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run(  # noqa: S603 - our own command with fixed arguments
        [sys.executable, "-m", "spendlimits", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_users_and_tokens_create_give_a_working_token(
    database_url: str, client: httpx.AsyncClient
) -> None:
    created = spendlimits(
        "users", "create", "--username", "ada", "--role", "owner", database_url=database_url
    )
    assert created.returncode == 0, created.stderr
    token = spendlimits("tokens", "create", "--username", "ada", database_url=database_url)
    assert token.returncode == 0, token.stderr
    secret = token.stdout.strip()
    assert secret.startswith("sl_") and "\n" not in secret
    assert await GraphQLClient(client, secret).data("{ viewer { username role } }") == {
        "viewer": {"username": "ada", "role": "OWNER"}
    }


async def test_service_token_is_printed_alone(database_url: str, client: httpx.AsyncClient) -> None:
    token = spendlimits("tokens", "create", "--service", "chatd", database_url=database_url)
    assert token.returncode == 0, token.stderr
    assert await GraphQLClient(client, token.stdout.strip()).data("{ viewer { id } }") == {"viewer": None}


def test_duplicate_user_and_unknown_user_fail_with_one_clear_line(database_url: str) -> None:
    assert spendlimits("users", "create", "--username", "bob", database_url=database_url).returncode == 0
    again = spendlimits("users", "create", "--username", "bob", database_url=database_url)
    assert again.returncode == 1
    assert "already exists" in again.stderr
    missing = spendlimits("tokens", "create", "--username", "nobody", database_url=database_url)
    assert missing.returncode == 1
    assert "no user named 'nobody'" in missing.stderr
    assert missing.stdout == ""


def test_migrate_status_reports_the_current_version(database_url: str) -> None:
    result = spendlimits("migrate", "status", database_url=database_url)
    assert result.returncode == 0, result.stderr
    latest = migrate.load_migrations()[-1].version
    assert f"current version: {latest}" in result.stdout
    assert "dirty: no" in result.stdout


def test_export_schema_matches_the_checked_in_schema(database_url: str) -> None:
    result = spendlimits("export-schema", database_url=database_url)
    assert result.returncode == 0, result.stderr
    assert result.stdout == Path(ROOT / "schema.graphql").read_text()
