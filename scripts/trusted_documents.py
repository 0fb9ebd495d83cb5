"""Writes src/spendlimits/static/trusted-documents.json from clients/typescript/operations.

One entry per operation: the operation printed with the fragments it uses, keyed by the sha256 of
that text, which is what a client sends as ``documentId: "sha256:<hex>"``. GraphQL Code
Generator's client preset (persistedDocuments, hashAlgorithm sha256) writes the same kind of file
from the same operations; this script keeps the server testable until it does.

    .venv/bin/python scripts/trusted_documents.py [--check]
"""

import argparse
import hashlib
import json
import sys
from pathlib import Path

from graphql import DocumentNode, FragmentDefinitionNode, OperationDefinitionNode, parse, print_ast
from graphql.language import FragmentSpreadNode, Visitor, visit

ROOT = Path(__file__).resolve().parent.parent
OPERATIONS = ROOT / "clients" / "typescript" / "operations"
REGISTRY = ROOT / "src" / "spendlimits" / "static" / "trusted-documents.json"


class _Spreads(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_: object) -> None:
        self.names.add(node.name.value)


def _used_fragments(
    node: OperationDefinitionNode | FragmentDefinitionNode, fragments: dict[str, FragmentDefinitionNode]
) -> list[FragmentDefinitionNode]:
    seen: dict[str, FragmentDefinitionNode] = {}
    pending = [node]
    while pending:
        spreads = _Spreads()
        visit(pending.pop(), spreads)
        for name in sorted(spreads.names - seen.keys()):
            seen[name] = fragments[name]
            pending.append(fragments[name])
    return [seen[name] for name in sorted(seen)]


def documents(directory: Path = OPERATIONS) -> dict[str, str]:
    """{sha256 hex: text} for every operation of every .graphql file in ``directory``."""
    found: dict[str, str] = {}
    for path in sorted(directory.glob("*.graphql")):
        document = parse(path.read_text(encoding="utf-8"))
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                parts = DocumentNode(definitions=(definition, *_used_fragments(definition, fragments)))
                text = print_ast(parts)
                found[hashlib.sha256(text.encode()).hexdigest()] = text
    return dict(sorted(found.items()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the registry file is not current")
    args = parser.parse_args()
    text = json.dumps(documents(), indent=2, sort_keys=True) + "\n"
    if args.check:
        current = REGISTRY.read_text(encoding="utf-8") if REGISTRY.exists() else ""
        if current != text:
            print(
                f"{REGISTRY.relative_to(ROOT)} is not current: run scripts/trusted_documents.py",
                file=sys.stderr,
            )
            return 1
        return 0
    REGISTRY.write_text(text, encoding="utf-8")
    print(f"wrote {len(json.loads(text))} documents to {REGISTRY.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
