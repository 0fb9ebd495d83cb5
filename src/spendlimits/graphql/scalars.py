"""Custom scalars: Micros (integer micro-dollars) and DateTime (RFC 3339, output in UTC)."""

from datetime import UTC, datetime
from typing import Any, NewType

import strawberry
from graphql import IntValueNode, StringValueNode, ValueNode

#: Integer micro-dollars. A NewType so Python code keeps plain ints while the schema says Micros.
Micros = NewType("Micros", int)

MAX_SAFE = 2**53 - 1


class InvalidScalar(ValueError):
    """A scalar input that is not of its type: reported as BAD_USER_INPUT."""


def parse_micros(value: Any) -> int:
    # bool is an int subclass in Python; JSON true must not become 1 micro.
    if isinstance(value, bool):
        raise InvalidScalar("Micros must be a whole number of micro-dollars, not a boolean.")
    if isinstance(value, int):
        number = value
    elif (
        isinstance(value, str)
        and value.isascii()
        and value.lstrip("-").isdigit()
        and value.count("-") <= 1
        and not value.endswith("-")
    ):
        number = int(value)
    else:
        raise InvalidScalar(
            f"Micros must be a whole number of micro-dollars (a JSON number or a string of digits), got {value!r}."
        )
    if not -MAX_SAFE <= number <= MAX_SAFE:
        raise InvalidScalar(f"Micros must be between -(2^53 - 1) and 2^53 - 1, got {number}.")
    return number


def parse_micros_literal(node: ValueNode, _variables: dict[str, Any] | None = None) -> int:
    if isinstance(node, IntValueNode | StringValueNode):
        return parse_micros(int(node.value) if isinstance(node, IntValueNode) else node.value)
    raise InvalidScalar("Micros must be a whole number of micro-dollars.")


def serialize_micros(value: int) -> int:
    return int(value)


def parse_datetime(value: Any) -> datetime:
    if not isinstance(value, str):
        raise InvalidScalar(f"DateTime must be an RFC 3339 string, got {value!r}.")
    try:
        parsed = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise InvalidScalar(f"DateTime must be an RFC 3339 timestamp, got {value!r}.") from None
    if parsed.tzinfo is None:
        raise InvalidScalar(f"DateTime needs a time zone offset (for example Z), got {value!r}.")
    return parsed.astimezone(UTC)


def parse_datetime_literal(node: ValueNode, _variables: dict[str, Any] | None = None) -> datetime:
    if isinstance(node, StringValueNode):
        return parse_datetime(node.value)
    raise InvalidScalar("DateTime must be an RFC 3339 string.")


def serialize_datetime(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


SCALAR_MAP: dict[object, Any] = {
    Micros: strawberry.scalar(
        name="Micros",
        description=(
            "Integer amount of micro-dollars (1 USD = 1,000,000 micros).\n"
            "Serialized as a JSON number. Accepted as a JSON number or as a string of decimal\n"
            "digits. Valid range is -(2^53 - 1) to 2^53 - 1, so JavaScript reads it exactly.\n"
            "Anything else (fractions, exponents, out of range, other types) is a validation error."
        ),
        serialize=serialize_micros,
        parse_value=parse_micros,
        parse_literal=parse_micros_literal,
    ),
    datetime: strawberry.scalar(
        name="DateTime",
        description="An RFC 3339 / ISO 8601 timestamp. Output is always UTC.",
        serialize=serialize_datetime,
        parse_value=parse_datetime,
        parse_literal=parse_datetime_literal,
    ),
}
