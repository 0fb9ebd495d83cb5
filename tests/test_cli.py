"""The spendlimits command, run as a user would run it."""

import argparse
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx

from spendlimits.cli import parser as cli_parser
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


def test_tokens_list_and_revoke_by_the_id_create_printed(database_url: str) -> None:
    assert spendlimits("users", "create", "--username", "ada", database_url=database_url).returncode == 0
    created = spendlimits(
        "tokens", "create", "--username", "ada", "--name", "laptop", database_url=database_url
    )
    assert created.returncode == 0, created.stderr
    token_id = created.stderr.split()[2]
    assert created.stderr.startswith(f"created token {token_id} (laptop)")

    listed = spendlimits("tokens", "list", database_url=database_url)
    assert listed.returncode == 0, listed.stderr
    header, *rows = listed.stdout.splitlines()
    assert header.split()[:3] == ["ID", "NAME", "ACTS"]
    assert [r.split()[:3] for r in rows] == [[token_id, "laptop", "ada"]]
    assert created.stdout.strip() not in listed.stdout

    revoked = spendlimits("tokens", "revoke", token_id, database_url=database_url)
    assert revoked.returncode == 0, revoked.stderr
    assert spendlimits("tokens", "list", database_url=database_url).stdout.splitlines()[1:] == []
    every = spendlimits("tokens", "list", "--all", database_url=database_url).stdout
    assert token_id in every and "UTC" in every.splitlines()[1].split("laptop")[1]

    unknown = spendlimits("tokens", "revoke", "not-an-id", database_url=database_url)
    assert unknown.returncode == 1 and len(unknown.stderr.splitlines()) == 1


def test_users_list_shows_ids_usernames_and_roles(database_url: str) -> None:
    made = spendlimits(
        "users", "create", "--username", "grace", "--role", "auditor", database_url=database_url
    )
    listed = spendlimits("users", "list", database_url=database_url)
    assert listed.returncode == 0, listed.stderr
    assert [made.stdout.strip(), "grace", "auditor"] in [r.split()[:3] for r in listed.stdout.splitlines()]


def test_help_is_plain_and_lists_every_command(database_url: str) -> None:
    shown = spendlimits("--help", database_url=database_url)
    assert shown.returncode == 0
    assert "``" not in shown.stdout
    for command in ("serve", "migrate", "import", "fold", "users", "tokens", "db", "export-schema"):
        assert f"\n    {command}" in shown.stdout, command


def test_commands_say_nothing_but_their_result_and_errors_take_one_line(database_url: str) -> None:
    listed = spendlimits("users", "list", database_url=database_url)
    assert listed.stderr == ""
    unreachable = spendlimits("users", "list", database_url="postgresql://nobody@127.0.0.1:1/none")
    assert unreachable.returncode == 1
    assert len(unreachable.stderr.strip().splitlines()) == 1, unreachable.stderr
    assert unreachable.stderr.startswith("spendlimits: ")


def test_import_prints_its_summary_once(database_url: str, tmp_path: Path) -> None:
    source = tmp_path / "one.jsonl"
    source.write_text('{"type": "organization", "name": "acme"}\n')
    done = spendlimits("import", str(source), database_url=database_url)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == len(set(lines)) == 1, lines


def test_every_help_text_is_plain() -> None:
    def helps(parser: argparse.ArgumentParser) -> Iterator[str]:
        yield parser.format_help()
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    yield from helps(sub)

    texts = list(helps(cli_parser()))
    assert len(texts) >= 15
    assert [t.splitlines()[0] for t in texts if "`" in t] == []
