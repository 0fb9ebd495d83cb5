"""Input objects of scalar fields built straight from graphql-core's coerced values.

By the time a resolver's arguments are converted, graphql-core has checked and parsed every field
of an input object (defaults filled in, custom scalars parsed: a Micros is an int). strawberry's
own conversion then walks the fields again, resolving each field's type annotation per request
(a dozen recursive conversions per reserveChatSpend, profiled; BENCHMARKS.md, "Decisions at less
CPU"). For an input whose fields are all scalars there is nothing left to convert, so its
``from_input`` hook (strawberry's extension point for this) only renames the keys.
"""

from collections.abc import Callable, Mapping
from dataclasses import MISSING
from typing import Any, TypeVar

from strawberry.schema.name_converter import NameConverter
from strawberry.types.base import (
    StrawberryList,
    StrawberryOptional,
    get_object_definition,
    has_object_definition,
)
from strawberry.types.enum import has_enum_definition

T = TypeVar("T")


def _is_scalar(type_: object) -> bool:
    while isinstance(type_, StrawberryOptional):
        type_ = type_.of_type
    return not (
        isinstance(type_, StrawberryList) or has_object_definition(type_) or has_enum_definition(type_)
    )


def build_from_coerced(cls: type[T]) -> None:
    """Installs the hook on ``cls``, a strawberry input whose fields are all scalars.

    Names follow the schema's default (camelCase) unless a field gives its own. A field the client
    left out that has no default in the schema is absent from the coerced values: it gets the
    class's default, or None without one, as with strawberry's conversion.
    """
    definition = get_object_definition(cls, strict=True)
    names = NameConverter()
    fields: list[tuple[str, str]] = []
    implicit: dict[str, None] = {}
    for field in definition.fields:
        if not _is_scalar(field.type):
            raise TypeError(f"{cls.__name__}.{field.python_name} is not a scalar: convert it the usual way")
        fields.append((names.get_graphql_name(field), field.python_name))
        if field.default_value is MISSING and field.default_factory is MISSING:
            implicit[field.python_name] = None
    built: Callable[..., T] = cls

    def from_input(_: type, value: Mapping[str, Any], __: object) -> T:
        kwargs: dict[str, Any] = dict(implicit)
        for graphql, python in fields:
            if graphql in value:
                kwargs[python] = value[graphql]
        return built(**kwargs)

    definition.from_input = from_input
