"""The TypeScript client's operations are valid against schema.graphql.

A schema change that would break the frontend's documents fails here, in the Python suite, before
anyone regenerates the client (`make client`, which CI also runs).
"""

import hashlib
import json
import re
from collections import Counter
from pathlib import Path

import pytest
from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    OperationDefinitionNode,
    build_schema,
    parse,
    print_ast,
    validate,
)

from tests.conftest import ROOT

OPERATIONS = sorted((ROOT / "clients" / "typescript" / "operations").glob("*.graphql"))


def test_the_client_has_operations_for_each_frontend() -> None:
    assert {path.name for path in OPERATIONS} >= {
        "adminSpendPage.graphql",
        "usageIndicator.graphql",
        "daemonCheck.graphql",
        "reservations.graphql",
        "userList.graphql",
    }


def _with_shared_fragments(path: Path) -> DocumentNode:
    """The file's document plus the fragments of other files it spreads (as codegen sees them all)."""
    document = parse(path.read_text())
    shared = {
        definition.name.value: definition
        for other in OPERATIONS
        if other != path
        for definition in parse(other.read_text()).definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    definitions = list(document.definitions)
    while True:
        own = {d.name.value for d in definitions if isinstance(d, FragmentDefinitionNode)}
        spread = {match.group(1) for d in definitions for match in re.finditer(r"\.\.\.(\w+)", print_ast(d))}
        missing = [shared[name] for name in sorted(spread - own) if name in shared]
        if not missing:
            return DocumentNode(definitions=tuple(definitions))
        definitions += missing


@pytest.mark.parametrize("path", OPERATIONS, ids=lambda path: path.name)
def test_operation_document_is_valid_against_schema_graphql(path: Path) -> None:
    schema = build_schema((ROOT / "schema.graphql").read_text())
    errors = validate(schema, _with_shared_fragments(path))
    assert errors == [], [f"{path.name}: {error.message}" for error in errors]


def _operations() -> list[OperationDefinitionNode]:
    return [
        definition
        for path in OPERATIONS
        for definition in parse(path.read_text()).definitions
        if isinstance(definition, OperationDefinitionNode)
    ]


def test_operations_are_named_uniquely_across_documents() -> None:
    # Codegen derives each TypeScript type's name from its operation's name.
    names = Counter(operation.name.value if operation.name else "" for operation in _operations())
    assert "" not in names
    assert [name for name, count in names.items() if count > 1] == []


def test_every_operation_has_its_generated_type_and_typed_document() -> None:
    generated = (ROOT / "clients" / "typescript" / "src" / "gql" / "graphql.ts").read_text()
    for operation in _operations():
        assert operation.name is not None
        type_name = operation.name.value + operation.operation.value.capitalize()
        assert f"export type {type_name} = " in generated, f"{type_name}: run `make client`"
        assert f"export const {operation.name.value}Document = new TypedDocumentString(" in generated


def test_trusted_documents_are_the_operations_keyed_by_the_sha256_of_their_exact_text() -> None:
    path = ROOT / "src" / "spendlimits" / "static" / "trusted-documents.json"
    documents = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(documents, dict) and documents
    for key, text in documents.items():
        assert key == hashlib.sha256(text.encode("utf-8")).hexdigest()
    schema = build_schema((ROOT / "schema.graphql").read_text())
    registered = Counter(
        definition.name.value
        for text in documents.values()
        for definition in parse(text).definitions
        if isinstance(definition, OperationDefinitionNode) and definition.name
    )
    # Each operation exactly once, each document valid on its own (its fragments included).
    assert registered == Counter(op.name.value for op in _operations() if op.name)
    assert all(validate(schema, parse(text)) == [] for text in documents.values())
