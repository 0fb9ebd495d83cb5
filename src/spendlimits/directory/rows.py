"""Turning SQL rows into domain dataclasses by column name."""

from dataclasses import fields
from typing import Any, TypeVar

from sqlalchemy import Row

T = TypeVar("T")


def from_row(cls: type[T], row: Row[Any]) -> T:
    """Build a dataclass from the row's columns of the same names (extra columns are ignored)."""
    mapping = row._mapping
    return cls(**{f.name: mapping[f.name] for f in fields(cls)})  # type: ignore[arg-type]  # cls is a dataclass


def columns(cls: type[Any], alias: str | None = None) -> str:
    """The dataclass's fields as a SELECT list, optionally qualified by a table alias."""
    prefix = f"{alias}." if alias else ""
    return ", ".join(prefix + f.name for f in fields(cls))
