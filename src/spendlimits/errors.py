"""Expected failures of domain operations, shared by every domain package.

The GraphQL layer turns a DomainError into a ``UserError`` (code, message, input path) returned as
data; nothing is written when one is raised inside a transaction.
"""

from collections.abc import Sequence


class DomainError(Exception):
    def __init__(self, code: str, message: str, field: Sequence[str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = list(field) if field is not None else None


class NotFound(Exception):
    """A looked-up object does not exist (a top-level NOT_FOUND error, not a UserError)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
