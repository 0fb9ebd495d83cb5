"""Pages of ordered lists: keyset slices, the size of a whole list, and search patterns."""

import uuid
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

#: Where a keyset page starts: after the row with this sort name (username, group name) and id.
SortKey = tuple[str, uuid.UUID]


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    #: How many items the whole list has, across all pages.
    total_count: int


@dataclass(frozen=True, slots=True)
class Slice(Generic[T]):
    """One page of a list without its total: the page statement reads limit + 1 rows to know
    whether more follow, and never counts the list (the count is a statement of its own, run only
    when a client asks for it)."""

    items: list[T]
    has_more: bool

    @classmethod
    def of(cls, rows: list[T], limit: int) -> "Slice[T]":
        return cls(items=rows[:limit], has_more=len(rows) > limit)


def like_pattern(search: str) -> str:
    """A case-insensitive substring pattern for ILIKE that matches ``search`` literally.

    ILIKE's default escape character is the backslash; escaping it and the two wildcards keeps a
    search for "50%" or "a_b" from matching everything.
    """
    escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
