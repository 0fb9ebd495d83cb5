"""Descriptions for the values of enums that mirror domain enums.

The domain enums (Role, Period, ...) stay free of GraphQL, so their values cannot carry
``strawberry.enum_value(description=...)``; the descriptions are attached here, beside the
``strawberry.enum`` call that turns each into a GraphQL enum.
"""

import enum

import strawberry


def described_enum(enum_type: type[enum.Enum], name: str, description: str, values: dict[str, str]) -> None:
    """Registers ``enum_type`` as the GraphQL enum ``name``; ``values`` describes every member."""
    strawberry.enum(enum_type, name=name, description=description)
    definition = enum_type.__strawberry_definition__  # type: ignore[attr-defined] # set by strawberry.enum
    missing = {value.name for value in definition.values} - set(values)
    if missing:
        raise ValueError(f"{name}: no description for {sorted(missing)}")
    for value in definition.values:
        value.description = values[value.name]
