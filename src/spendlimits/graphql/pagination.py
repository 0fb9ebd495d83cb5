"""Offset pagination for the admin lists: opaque cursors, a capped page size.

Lists here are ordered by a unique name (username, group name), are small next to message
history, and are read by admins, so an offset cursor is simple and exact enough.
"""

import base64
import binascii
from dataclasses import dataclass

import strawberry

from spendlimits.graphql.errors import BadUserInput

MAX_FIRST = 500
_PREFIX = "offset:"


@strawberry.type(description="Where a page ends and whether another follows.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="True when another page follows this one.")
    end_cursor: str | None = strawberry.field(
        description="Pass as `after` to get the next page; null when the page is empty."
    )


@dataclass(frozen=True, slots=True)
class PageRequest:
    limit: int
    offset: int

    def page_info(self, returned: int, total: int) -> PageInfo:
        end = self.offset + returned
        return PageInfo(has_next_page=end < total, end_cursor=encode_cursor(end) if returned else None)


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{offset}".encode()).decode()


def page_request(first: int | None, after: str | None, default: int = 50) -> PageRequest:
    """Validates ``first`` (1..500) and ``after`` (a cursor from endCursor) into a limit and offset."""
    limit = default if first is None else first
    if not 1 <= limit <= MAX_FIRST:
        raise BadUserInput(f"first must be between 1 and {MAX_FIRST}, got {limit}.")
    if after is None:
        return PageRequest(limit=limit, offset=0)
    try:
        decoded = base64.urlsafe_b64decode(after.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadUserInput("after is not a cursor this API returned.") from None
    if not decoded.startswith(_PREFIX) or not decoded[len(_PREFIX) :].isdigit():
        raise BadUserInput("after is not a cursor this API returned.")
    return PageRequest(limit=limit, offset=int(decoded[len(_PREFIX) :]))
