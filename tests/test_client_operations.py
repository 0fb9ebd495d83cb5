"""The TypeScript client's operations are valid against schema.graphql.

A schema change that would break the frontend's documents fails here, in the Python suite, before
anyone regenerates the client (`make client`, which CI also runs).
"""

from collections import Counter
from pathlib import Path

import pytest
from graphql import OperationDefinitionNode, build_schema, parse, validate

from tests.conftest import ROOT

OPERATIONS = sorted((ROOT / "clients" / "typescript" / "operations").glob("*.graphql"))


def test_the_client_has_operations_for_each_frontend() -> None:
    assert {path.name for path in OPERATIONS} >= {
        "adminSpendPage.graphql",
        "usageIndicator.graphql",
        "daemonCheck.graphql",
    }


@pytest.mark.parametrize("path", OPERATIONS, ids=lambda path: path.name)
def test_operation_document_is_valid_against_schema_graphql(path: Path) -> None:
    schema = build_schema((ROOT / "schema.graphql").read_text())
    errors = validate(schema, parse(path.read_text()))
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


def test_every_operation_has_its_generated_type() -> None:
    generated = (ROOT / "clients" / "typescript" / "src" / "generated.ts").read_text()
    for operation in _operations():
        assert operation.name is not None
        type_name = operation.name.value + operation.operation.value.capitalize()
        assert f"export type {type_name} = " in generated, f"{type_name}: run `make client`"
