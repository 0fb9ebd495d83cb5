"""A page of an ordered list, with the size of the whole list."""

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    #: How many items the whole list has, across all pages.
    total_count: int


def like_pattern(search: str) -> str:
    """A case-insensitive substring pattern for ILIKE that matches ``search`` literally.

    ILIKE's default escape character is the backslash; escaping it and the two wildcards keeps a
    search for "50%" or "a_b" from matching everything.
    """
    escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
