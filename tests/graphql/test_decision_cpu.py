"""What keeps a decision request's CPU down stays in place: plain fields on the decision's answer
types, reserve's and release's inputs built from graphql-core's coerced values (and built as
strawberry would build them), one schema extension."""

from typing import Any

import pytest
from strawberry.resolvers import is_default_resolver
from strawberry.types.arguments import InputContext, convert_argument
from strawberry.types.base import get_object_definition

from spendlimits.graphql.flat_inputs import build_from_coerced
from spendlimits.graphql.mutations.reservations import (
    ReleaseChatSpendInput,
    ReserveChatSpendInput,
    SettleChatSpendInput,
)
from spendlimits.graphql.request_hooks import RequestHooks
from spendlimits.graphql.schema import schema

#: Fields that read through a DataLoader and so stay resolvers; every other field is plain.
LOADED = {
    "ChatUsageLimitCheck": set(),
    "ChatUsageLimitExceeded": set(),
    "ChatUsageLimitStatus": {"warningThresholdPercent"},
    "EffectiveChatSpendLimit": {"group"},
    "ChatSpendReservation": {"user", "organization", "chat", "message"},
}


@pytest.mark.parametrize("type_name", sorted(LOADED))
def test_the_decision_answers_resolve_no_field_through_a_method(type_name: str) -> None:
    fields = schema._schema.type_map[type_name].fields  # type: ignore[attr-defined] # an object type
    with_resolver = {name for name, field in fields.items() if not is_default_resolver(field.resolve)}
    assert with_resolver == LOADED[type_name]


def test_the_schema_runs_one_extension() -> None:
    assert list(schema.extensions) == [RequestHooks]


def strawberrys_own(cls: type, value: dict[str, Any]) -> Any:
    """The input as strawberry's conversion builds it, without the from_input hook."""
    definition = get_object_definition(cls, strict=True)
    hook, definition.from_input = definition.from_input, None
    try:
        converter = schema.schema_converter
        return convert_argument(value, cls, converter.scalar_registry, converter.config)
    finally:
        definition.from_input = hook


@pytest.mark.parametrize(
    ("cls", "value"),
    [
        (ReserveChatSpendInput, {"userId": "u", "estimateMicros": 5}),
        (
            ReserveChatSpendInput,
            {
                "userId": "u",
                "organizationId": "o",
                "chatId": "c",
                "estimateMicros": 0,
                "ttlSeconds": 60,
                "idempotencyKey": "k",
            },
        ),
        (ReserveChatSpendInput, {"userId": "u", "organizationId": None, "chatId": None, "estimateMicros": 1}),
        (ReleaseChatSpendInput, {"reservationId": "r"}),
    ],
)
def test_a_flat_input_is_built_as_strawberry_builds_it(cls: type, value: dict[str, Any]) -> None:
    hook = get_object_definition(cls, strict=True).from_input
    assert hook is not None
    converter = schema.schema_converter
    context = InputContext(
        info=None, config=converter.config, scalar_registry=converter.scalar_registry, path=()
    )
    assert hook(cls, value, context) == strawberrys_own(cls, value)


def test_an_input_with_a_nested_input_is_left_to_strawberry() -> None:
    with pytest.raises(TypeError, match="message is not a scalar"):
        build_from_coerced(SettleChatSpendInput)
    assert get_object_definition(SettleChatSpendInput, strict=True).from_input is None
