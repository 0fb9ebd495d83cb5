"""Fails when schema.graphql is stale or breaks the API contract the team keeps beside the repository
(shared/contract, one folder up).

Run by `make check-schema` and CI. The contract parts checked are listed in CONTRACT_PARTS; a part
is added once the issue that implements it has landed.
"""

import subprocess
import sys
from pathlib import Path

from graphql import build_schema, find_breaking_changes

ROOT = Path(__file__).resolve().parents[1]
CONTRACT = ROOT.parent / "shared" / "contract"
CONTRACT_PARTS = ["core.graphql", "strict.graphql"]


def main() -> int:
    checked_in = (ROOT / "schema.graphql").read_text()
    exported = subprocess.run(
        [sys.executable, "-m", "spendlimits", "export-schema"], capture_output=True, text=True, check=True
    ).stdout
    failed = False
    if exported != checked_in:
        print("schema.graphql is stale: run `make schema` and commit the result.")
        failed = True
    if not CONTRACT.is_dir():
        print(f"contract folder {CONTRACT} not found; skipping the contract check")
        return 1 if failed else 0
    ours = build_schema(checked_in)
    sdl = ""
    for part in CONTRACT_PARTS:
        sdl += (CONTRACT / part).read_text() + "\n"
        changes = find_breaking_changes(build_schema(sdl), ours)
        if changes:
            failed = True
            print(f"schema.graphql breaks the contract {part} in {len(changes)} place(s):")
            for change in changes:
                print(f"  {change.type.name}: {change.description}")
    if not failed:
        print(f"schema.graphql is current and compatible with {', '.join(CONTRACT_PARTS)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
