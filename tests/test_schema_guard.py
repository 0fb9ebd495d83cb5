"""scripts/schema_guard.py: a breaking schema change needs a `Breaking-Change:` line in the commit."""

import importlib.util
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import ROOT


def _load_guard() -> ModuleType:
    spec = importlib.util.spec_from_file_location("schema_guard", ROOT / "scripts" / "schema_guard.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


guard = _load_guard()

OLD = """
type Query {
  viewer: User
}
type User {
  id: ID!
  username: String!
  email: String
}
"""
ADDED_FIELD = OLD.replace("email: String", "email: String\n  name: String")
REMOVED_FIELD = OLD.replace("  email: String\n", "")
REQUIRED_ARGUMENT = OLD.replace("viewer: User", "viewer(as: ID!): User")


def test_adding_a_field_passes() -> None:
    assert guard.judge(OLD, ADDED_FIELD, "Add User.name").passed


@pytest.mark.parametrize("new", [REMOVED_FIELD, REQUIRED_ARGUMENT])
def test_a_breaking_change_fails_without_a_reason(new: str) -> None:
    verdict = guard.judge(OLD, new, "Tidy the schema\n\nSome words about it.")
    assert not verdict.passed
    assert any("Breaking-Change:" in line for line in verdict.report)


def test_a_breaking_change_passes_with_a_reason_in_the_message() -> None:
    message = "Drop User.email\n\nBreaking-Change: email moved to Profile; frontends read profile.email\n"
    verdict = guard.judge(OLD, REMOVED_FIELD, message)
    assert verdict.passed
    assert any("FIELD_REMOVED" in line for line in verdict.report)
    assert (
        verdict.report[-1]
        == "accepted: Breaking-Change: email moved to Profile; frontends read profile.email"
    )


@pytest.mark.parametrize(
    "message",
    [
        "Breaking-Change:",
        "Breaking-Change:   \n",
        "mentions Breaking-Change: inline only",
        "Breaking change: spaced",
    ],
)
def test_an_empty_or_misplaced_reason_does_not_count(message: str) -> None:
    assert guard.breaking_reason(message) is None


def test_without_an_earlier_schema_there_is_nothing_to_break() -> None:
    assert guard.judge(None, OLD, "").passed


def _git(repo: Path, *args: str) -> None:
    subprocess.run(  # noqa: S603 - git with this test's own arguments
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false", *args],  # noqa: S607
        cwd=repo,
        check=True,
        capture_output=True,
    )


def test_main_compares_schema_graphql_with_the_previous_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _git(tmp_path, "init", "-q")
    (tmp_path / "schema.graphql").write_text(OLD)
    _git(tmp_path, "add", "schema.graphql")
    _git(tmp_path, "commit", "-q", "-m", "first")
    (tmp_path / "schema.graphql").write_text(REMOVED_FIELD)
    _git(tmp_path, "commit", "-q", "-am", "drop email")
    monkeypatch.setattr(guard, "ROOT", tmp_path)

    assert guard.main([]) == 1
    assert "User.email was removed" in capsys.readouterr().out

    _git(tmp_path, "commit", "-q", "--amend", "-m", "drop email\n\nBreaking-Change: nobody reads it")
    assert guard.main([]) == 0


def test_main_passes_on_the_first_commit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _git(tmp_path, "init", "-q")
    (tmp_path / "schema.graphql").write_text(OLD)
    _git(tmp_path, "add", "schema.graphql")
    _git(tmp_path, "commit", "-q", "-m", "first")
    monkeypatch.setattr(guard, "ROOT", tmp_path)
    assert guard.main([]) == 0
