"""Pagination for the admin lists: opaque cursors, a capped page size, totals only when asked.

The user and group lists hand out keyset cursors (the last row's sort name and id): the next page
starts at that row in the list's index, so a page costs the same at 1k users as at 1M. Offset
cursors, which earlier releases handed out and other lists still use, stay valid everywhere.
"""

import base64
import binascii
import json
import uuid
from dataclasses import dataclass

import strawberry
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField

from spendlimits.directory.pages import SortKey
from spendlimits.graphql.context import Info
from spendlimits.graphql.errors import BadUserInput

MAX_FIRST = 500
_PREFIX = "offset:"
_KEY_PREFIX = "key:"


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
    #: Set for a keyset cursor (lists that accept them): the page starts after this row.
    after_key: SortKey | None = None

    def page_info(self, returned: int, total: int) -> PageInfo:
        end = self.offset + returned
        return PageInfo(has_next_page=end < total, end_cursor=encode_cursor(end) if returned else None)

    def keyset_page_info(self, last: SortKey | None, has_more: bool) -> PageInfo:
        """PageInfo of a keyset page; ``last`` is the sort key of its last row (None when empty)."""
        return PageInfo(has_next_page=has_more, end_cursor=encode_key_cursor(last) if last else None)


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{offset}".encode()).decode()


def encode_key_cursor(key: SortKey) -> str:
    name, row_id = key
    payload = json.dumps([name, str(row_id)], separators=(",", ":"))
    return base64.urlsafe_b64encode(f"{_KEY_PREFIX}{payload}".encode()).decode()


def _decode_key(payload: str) -> SortKey | None:
    try:
        name, row_id = json.loads(payload)
        if isinstance(name, str) and isinstance(row_id, str):
            return name, uuid.UUID(row_id)
    except (ValueError, TypeError):
        pass
    return None


def page_request(
    first: int | None, after: str | None, default: int = 50, keyset: bool = False
) -> PageRequest:
    """Validates ``first`` (1..500) and ``after`` (a cursor from endCursor) into a page request.

    ``keyset``: the list also accepts keyset cursors (users, groups).
    """
    limit = default if first is None else first
    if not 1 <= limit <= MAX_FIRST:
        raise BadUserInput(f"first must be between 1 and {MAX_FIRST}, got {limit}.")
    if after is None:
        return PageRequest(limit=limit, offset=0)
    try:
        decoded = base64.urlsafe_b64decode(after.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadUserInput("after is not a cursor this API returned.") from None
    if keyset and decoded.startswith(_KEY_PREFIX):
        key = _decode_key(decoded[len(_KEY_PREFIX) :])
        if key is not None:
            return PageRequest(limit=limit, offset=0, after_key=key)
    if not decoded.startswith(_PREFIX) or not decoded[len(_PREFIX) :].isdigit():
        raise BadUserInput("after is not a cursor this API returned.")
    return PageRequest(limit=limit, offset=int(decoded[len(_PREFIX) :]))


def _selects(selections: list[SelectedField | FragmentSpread | InlineFragment], name: str) -> bool:
    for selection in selections:
        if isinstance(selection, SelectedField):
            if selection.name == name:
                return True
        elif _selects(selection.selections, name):
            return True
    return False


def selects(info: Info, name: str) -> bool:
    """Whether the document asks for ``name`` on the field being resolved (fragments included):
    a connection's totalCount is only computed when a client selects it."""
    return any(_selects(field.selections, name) for field in info.selected_fields)
