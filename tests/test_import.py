"""`spendlimits import`: JSON Lines backfills with bad lines, re-runs and exit status."""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.importer import Importer, ImportReport, chat_id_for
from tests.test_cli import spendlimits

CHAT = "c-1"
GOOD: list[dict[str, Any]] = [
    {"type": "organization", "name": "acme", "display_name": "Acme Corp"},
    {"type": "organization", "name": "globex"},
    {"type": "user", "username": "ada", "name": "Ada Lovelace", "email": "ada@example.com"},
    {"type": "user", "username": "root", "role": "owner"},
    {"type": "membership", "organization": "acme", "username": "ada"},
    {"type": "group", "organization": "acme", "name": "eng", "display_name": "Engineering"},
    {"type": "group_member", "organization": "acme", "group": "eng", "username": "ada"},
    {
        "type": "model",
        "provider": "anthropic",
        "model": "claude-sonnet-4-5",
        "input_price_per_million_tokens": 3_000_000,
        "output_price_per_million_tokens": 15_000_000,
    },
    {"type": "chat", "external_id": CHAT, "owner": "ada", "organization": "acme", "title": "refactor"},
    {
        "type": "chat",
        "external_id": "c-2",
        "parent_external_id": CHAT,
        "owner": "ada",
        "organization": "acme",
        "archived": True,
        "created_at": "2025-05-01T08:00:00Z",
    },
    {
        "type": "message",
        "chat_external_id": CHAT,
        "role": "assistant",
        "provider": "anthropic",
        "model": "claude-sonnet-4-5",
        "usage": {"input_tokens": 1000, "output_tokens": 100},
        "created_at": "2025-05-01T09:00:00Z",
        "idempotency_key": "m-1",
    },
    {
        "type": "message",
        "chat_external_id": "c-2",
        "role": "tool",
        "total_cost_micros": 250,
        "created_at": "2025-05-02T09:00:00+02:00",
        "idempotency_key": "m-2",
    },
    {"type": "message", "chat_id": str(chat_id_for(CHAT)), "role": "user", "idempotency_key": "m-3"},
]
#: Each bad line with the reason it must be reported with.
BAD = [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "a line must be a JSON object"),
    (json.dumps({"type": "planet"}), '"type" must be one of'),
    (json.dumps({"type": "organization", "name": "bad name"}), "Organization name must be"),
    (json.dumps({"type": "user", "username": "bob", "colour": "red"}), 'unknown field(s): "colour"'),
    (
        json.dumps({"type": "membership", "organization": "nowhere", "username": "ada"}),
        "unknown organization",
    ),
    (
        json.dumps({"type": "group_member", "organization": "globex", "group": "eng", "username": "ada"}),
        "unknown group",
    ),
    (
        json.dumps(
            {
                "type": "chat",
                "external_id": "c-9",
                "owner": "ada",
                "organization": "acme",
                "parent_id": str(uuid.uuid4()),
            }
        ),
        "Parent chat not found.",
    ),
    (
        json.dumps({"type": "message", "chat_external_id": "nope", "role": "user", "idempotency_key": "x"}),
        "Chat not found.",
    ),
    (
        json.dumps({"type": "message", "chat_external_id": CHAT, "role": "user"}),
        'missing field "idempotency_key"',
    ),
    (
        json.dumps(
            {
                "type": "message",
                "chat_external_id": CHAT,
                "role": "assistant",
                "provider": "x",
                "model": "y",
                "idempotency_key": "m-9",
            }
        ),
        "unknown model x/y",
    ),
    (
        json.dumps(
            {
                "type": "message",
                "chat_external_id": CHAT,
                "role": "user",
                "total_cost_micros": -5,
                "idempotency_key": "m-8",
            }
        ),
        "totalCostMicros must be 0 or more",
    ),
    (
        json.dumps(
            {
                "type": "message",
                "chat_external_id": CHAT,
                "role": "user",
                "total_cost_micros": 1,
                "idempotency_key": "m-2b",
                "usage": {"input_tokens": 1.5},
            }
        ),
        '"input_tokens" must be a whole number',
    ),
]


def good_lines() -> list[str]:
    return [json.dumps(line) for line in GOOD]


def interleaved() -> tuple[list[str], dict[int, str]]:
    """Good and bad lines mixed, plus a blank line; returns the lines and the reason per bad line number."""
    lines = good_lines()
    expected: dict[int, str] = {}
    for index, (raw, _) in enumerate(BAD):
        position = min(2 * index + 1, len(lines))
        lines.insert(position, raw)
    lines.insert(3, "   ")
    for number, raw in enumerate(lines, start=1):
        for bad, reason in BAD:
            if raw == bad:
                expected[number] = reason
    return lines, expected


async def run_import(
    engine: AsyncEngine, lines: list[str], batch_lines: int = 500
) -> tuple[ImportReport, dict[int, str]]:
    rejected: dict[int, str] = {}
    importer = Importer(
        engine, on_rejected=rejected.__setitem__, on_batch=lambda _: None, batch_lines=batch_lines
    )
    return await importer.run(lines), rejected


async def facts(engine: AsyncEngine) -> dict[str, Any]:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    """
                    SELECT
                      (SELECT count(*) FROM organizations) AS organizations,
                      (SELECT count(*) FROM users) AS users,
                      (SELECT count(*) FROM organization_members) AS memberships,
                      (SELECT count(*) FROM groups) AS groups,
                      (SELECT count(*) FROM group_members) AS group_members,
                      (SELECT count(*) FROM chat_models) AS models,
                      (SELECT count(*) FROM chats) AS chats,
                      (SELECT count(*) FROM chats WHERE archived) AS archived,
                      (SELECT count(*) FROM chat_messages) AS messages,
                      (SELECT sum(total_cost_micros) FROM chat_messages) AS cost,
                      (SELECT sum(spend_micros) FROM chat_spend_daily) AS rollup
                    """
                )
            )
        ).one()
    return dict(row._mapping)


EXPECTED = {
    "organizations": 2,
    "users": 2,
    "memberships": 1,
    "groups": 3,
    "group_members": 1,
    "models": 1,
    "chats": 2,
    "archived": 1,
    "messages": 3,
    # 1000 x $3 + 100 x $15 per million = 4,500 micros, plus the 250 given.
    "cost": 4750,
    "rollup": 4750,
}


async def test_a_clean_file_imports_everything_and_a_rerun_adds_nothing(engine: AsyncEngine) -> None:
    report, rejected = await run_import(engine, good_lines())
    assert rejected == {}
    assert (report.read, report.new, report.unchanged, report.rejected) == (len(GOOD), len(GOOD), 0, 0)
    assert await facts(engine) == EXPECTED

    again, rejected = await run_import(engine, good_lines())
    assert rejected == {}
    assert (again.new, again.unchanged) == (0, len(GOOD))
    assert await facts(engine) == EXPECTED


@pytest.mark.parametrize("batch_lines", [500, 3, 1])
async def test_bad_lines_are_reported_by_number_and_the_good_ones_imported(
    engine: AsyncEngine, batch_lines: int
) -> None:
    lines, expected = interleaved()
    report, rejected = await run_import(engine, lines, batch_lines)
    assert sorted(rejected) == sorted(expected)
    for number, reason in expected.items():
        assert reason in rejected[number], (number, rejected[number])
    assert (report.read, report.imported, report.rejected) == (len(lines) - 1, len(GOOD), len(BAD))
    assert await facts(engine) == EXPECTED

    again, rejected_again = await run_import(engine, lines, batch_lines)
    assert rejected_again == rejected
    assert (again.new, again.unchanged, again.rejected) == (0, len(GOOD), len(BAD))
    assert await facts(engine) == EXPECTED


async def test_a_reused_message_key_with_other_content_is_rejected(engine: AsyncEngine) -> None:
    await run_import(engine, good_lines())
    changed = {**GOOD[-2], "total_cost_micros": 999}
    report, rejected = await run_import(engine, [json.dumps(changed)])
    assert report.rejected == 1
    assert rejected == {1: "This idempotencyKey was already used for a different message in this chat."}
    assert (await facts(engine))["cost"] == 4750


async def test_a_chat_id_reused_for_another_owner_is_rejected(engine: AsyncEngine) -> None:
    await run_import(engine, good_lines())
    other = {"type": "chat", "external_id": CHAT, "owner": "root", "organization": "acme"}
    _, rejected = await run_import(engine, [json.dumps(other)])
    assert rejected == {1: "A chat with this id already exists with another owner, organization or parent."}


def test_the_command_reports_rejections_and_exits_1(database_url: str, tmp_path: Path) -> None:
    lines, expected = interleaved()
    source = tmp_path / "backfill.jsonl"
    source.write_text("\n".join(lines) + "\n")

    result = spendlimits("import", str(source), database_url=database_url)
    assert result.returncode == 1, result.stderr
    for number, reason in expected.items():
        assert f"line {number}: rejected: " in result.stderr and reason in result.stderr
    assert (
        f"read {len(lines) - 1} lines: {len(GOOD)} imported ({len(GOOD)} new, 0 already present), {len(BAD)} rejected"
        in result.stderr
    )

    clean = tmp_path / "clean.jsonl"
    clean.write_text("\n".join(good_lines()) + "\n")
    rerun = spendlimits("import", str(clean), database_url=database_url)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{len(GOOD)} imported (0 new, {len(GOOD)} already present), 0 rejected" in rerun.stderr


def test_the_command_reads_stdin(database_url: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "spendlimits", "import", "-"],
        input="\n".join(good_lines()[:3]),
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "3 imported (3 new, 0 already present)" in result.stderr


def test_help_explains_the_exit_status() -> None:
    result = spendlimits("import", "--help", database_url="postgresql://unused")
    assert result.returncode == 0
    assert "exit status: 0 when every line was imported, 1 if any line was rejected" in result.stdout


def test_a_missing_file_is_one_clear_line(database_url: str, tmp_path: Path) -> None:
    result = spendlimits("import", str(tmp_path / "nope.jsonl"), database_url=database_url)
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == f"spendlimits: cannot read {tmp_path / 'nope.jsonl'}: No such file or directory"
    )
