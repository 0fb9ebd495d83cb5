"""Fails when schema.graphql breaks the schema of an earlier commit, unless a commit message says why.

Run by CI after check_schema.py (which compares schema.graphql with the code and with the shared
API contract). A breaking change, as graphql-core's find_breaking_changes sees it (a type, field or
enum value removed, a type changed, an argument made required...), breaks deployed frontends and
the chat daemon, so it lands only when a commit message since the base has a line

    Breaking-Change: <why it is intended and what clients must do>

The base is the previous commit (HEAD~1) unless --base names another revision, e.g. origin/main
to check a whole branch. Without a base (the first commit, or a shallow clone) there is nothing to
compare with and the check passes.
"""

import argparse
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from graphql import build_schema, find_breaking_changes, find_dangerous_changes

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = "schema.graphql"
_TRAILER = re.compile(r"^Breaking-Change:[ \t]*(\S.*)$", re.MULTILINE | re.IGNORECASE)


@dataclass(frozen=True)
class Verdict:
    passed: bool
    report: list[str]


def breaking_reason(messages: str) -> str | None:
    """The reason given on a `Breaking-Change:` line of the commit messages, if any."""
    found = _TRAILER.search(messages)
    return found.group(1).strip() if found else None


def judge(old_sdl: str | None, new_sdl: str, messages: str) -> Verdict:
    if old_sdl is None:
        return Verdict(True, [f"no earlier {SCHEMA} to compare with"])
    old, new = build_schema(old_sdl), build_schema(new_sdl)
    breaking = [f"  {change.type.name}: {change.description}" for change in find_breaking_changes(old, new)]
    dangerous = [f"  {change.type.name}: {change.description}" for change in find_dangerous_changes(old, new)]
    report = (
        [f"{SCHEMA} may change behaviour for clients ({len(dangerous)}):", *dangerous] if dangerous else []
    )
    if not breaking:
        return Verdict(True, [*report, f"{SCHEMA} breaks nothing the earlier schema offered"])
    report += [f"{SCHEMA} has {len(breaking)} breaking change(s):", *breaking]
    reason = breaking_reason(messages)
    if reason is None:
        return Verdict(
            False,
            [
                *report,
                "Fix the schema, or, if the break is intended, say why in the commit message on a line",
                "  Breaking-Change: <why, and what clients must do>",
            ],
        )
    return Verdict(True, [*report, f"accepted: Breaking-Change: {reason}"])


def _git(*args: str) -> str | None:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)  # noqa: S603, S607 - git from PATH, fixed arguments
    return done.stdout if done.returncode == 0 else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base", default="HEAD~1", help="revision to compare with (default: HEAD~1)")
    args = parser.parse_args(argv)
    old_sdl = None
    if _git("rev-parse", "--verify", "--quiet", f"{args.base}^{{commit}}") is not None:
        old_sdl = _git("show", f"{args.base}:{SCHEMA}")
    messages = _git("log", "--format=%B", f"{args.base}..HEAD") if old_sdl is not None else ""
    verdict = judge(old_sdl, (ROOT / SCHEMA).read_text(), messages or "")
    print("\n".join(verdict.report))
    return 0 if verdict.passed else 1


if __name__ == "__main__":
    sys.exit(main())
