"""How errors reach clients: codes on every error, expected failures as data, the rest masked."""

import enum
import logging
import uuid
from typing import Any

import strawberry
from graphql import GraphQLError, GraphQLSyntaxError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from strawberry.types import ExecutionContext

from spendlimits.db.deadline import CannotEvaluate
from spendlimits.errors import DomainError
from spendlimits.graphql.descriptions import described_enum
from spendlimits.graphql.scalars import InvalidScalar

log = logging.getLogger(__name__)

MASKED_MESSAGE = "Unexpected error."


class ApiError(GraphQLError):
    """A top-level error with a code, raised by resolvers; shown to the client as it is."""

    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message, extensions={"code": self.code})


class Forbidden(ApiError):
    code = "FORBIDDEN"

    def __init__(self, message: str = "You are not allowed to do this.") -> None:
        super().__init__(message)


class NotFoundError(ApiError):
    code = "NOT_FOUND"


class BadUserInput(ApiError):
    code = "BAD_USER_INPUT"


def parse_id(value: str, argument: str = "id") -> uuid.UUID:
    """An ID argument as a UUID; anything else is BAD_USER_INPUT, never a 500."""
    try:
        return uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        raise BadUserInput(f"{argument} must be a UUID, got {value!r}.") from None


class UserErrorCode(enum.Enum):
    INVALID_INPUT = "INVALID_INPUT"
    INVALID_SPEND_LIMIT = "INVALID_SPEND_LIMIT"
    INVALID_PERIOD = "INVALID_PERIOD"
    USER_NOT_FOUND = "USER_NOT_FOUND"
    GROUP_NOT_FOUND = "GROUP_NOT_FOUND"
    ORGANIZATION_NOT_FOUND = "ORGANIZATION_NOT_FOUND"
    CHAT_NOT_FOUND = "CHAT_NOT_FOUND"
    MODEL_NOT_FOUND = "MODEL_NOT_FOUND"
    TOKEN_NOT_FOUND = "TOKEN_NOT_FOUND"  # noqa: S105 - an error code, not a secret
    OVERRIDE_NOT_FOUND = "OVERRIDE_NOT_FOUND"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    IDEMPOTENCY_CONFLICT = "IDEMPOTENCY_CONFLICT"
    RESERVATION_NOT_FOUND = "RESERVATION_NOT_FOUND"
    #: Release of a reservation that is no longer HELD (settle of a RELEASED one, too).
    RESERVATION_NOT_HELD = "RESERVATION_NOT_HELD"
    #: Deleting or demoting the deployment's last live owner.
    LAST_OWNER = "LAST_OWNER"


described_enum(
    UserErrorCode,
    "UserErrorCode",
    "Why a mutation did not do what it was asked.",
    {
        "INVALID_INPUT": "A value is malformed or breaks a rule (a name, a length, a time, a parent chat).",
        "INVALID_SPEND_LIMIT": "A spend limit must be greater than 0.",
        "INVALID_PERIOD": "A period is required with a spend limit.",
        "USER_NOT_FOUND": "No live user has this id.",
        "GROUP_NOT_FOUND": "No group has this id.",
        "ORGANIZATION_NOT_FOUND": "No organization has this id.",
        "CHAT_NOT_FOUND": "No chat has this id.",
        "MODEL_NOT_FOUND": "No chat model has this id.",
        "TOKEN_NOT_FOUND": "No API token has this id.",
        "OVERRIDE_NOT_FOUND": "The user or group has no override to delete.",
        "ALREADY_EXISTS": "The name (or id) is taken.",
        "IDEMPOTENCY_CONFLICT": "The idempotency key was used before with different input.",
        "RESERVATION_NOT_FOUND": "No reservation has this id.",
        "RESERVATION_NOT_HELD": "The reservation is no longer HELD.",
        "LAST_OWNER": "The deployment's last live owner cannot be deleted or demoted.",
    },
)


@strawberry.type(description="An expected failure of a mutation, returned as data.")
class UserError:
    code: UserErrorCode = strawberry.field(description="What went wrong, for programs.")
    message: str = strawberry.field(
        description='A sentence for people, e.g. "Spend limit must be greater than 0.".'
    )
    field: list[str] | None = strawberry.field(
        description='Path to the input field at fault, e.g. ["input", "spendLimitMicros"].'
    )

    @classmethod
    def from_domain(cls, error: DomainError) -> "UserError":
        return cls(code=UserErrorCode(error.code), message=error.message, field=error.field)


def _code_for(error: GraphQLError) -> str:
    """The extensions.code of an error that does not carry one yet."""
    original = error.original_error
    if isinstance(original, InvalidScalar) or error.message.startswith("Variable '$"):
        return "BAD_USER_INPUT"
    if error.path is None or isinstance(error, GraphQLSyntaxError):
        # Raised before execution: the document itself is at fault.
        return "GRAPHQL_VALIDATION_FAILED"
    return "INTERNAL_SERVER_ERROR"


def _should_mask(error: GraphQLError) -> bool:
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError | InvalidScalar)


#: PostgreSQL's SQLSTATEs for text it cannot hold (a NUL character, an untranslatable one).
_UNSTORABLE_TEXT_STATES = {"22021", "22P05"}
UNSTORABLE_TEXT_MESSAGE = "Text must not contain NUL characters or unpaired surrogates."


def _is_unstorable_text(error: BaseException | None) -> bool:
    """The database or its driver refused a string the client sent: the client's error, not ours.

    A NUL character reaches PostgreSQL and is refused there; an unpaired surrogate (valid in JSON,
    "\\ud800") cannot even be encoded by the driver. Both were masked as INTERNAL_SERVER_ERROR.
    """
    # A cause chain is a few links long; the bound only guards against a cycle.
    for _ in range(10):
        if error is None:
            return False
        state = getattr(error, "sqlstate", None)
        if isinstance(error, UnicodeEncodeError) or state in _UNSTORABLE_TEXT_STATES:
            return True
        error = error.__cause__ or error.__context__
    return False


UNAVAILABLE_MESSAGE = "The service cannot reach its database; try again shortly."
#: query_canceled: statement_timeout fired, which on a healthy database means it is overloaded.
_UNAVAILABLE_STATES = {"57014", "57P01", "57P02", "57P03", "08000", "08003", "08006", "08001", "08004"}


def _is_database_unavailable(error: BaseException | None) -> bool:
    """The database could not be reached or did not answer: retryable, not a bug to mask."""
    for _ in range(10):
        if error is None:
            return False
        if isinstance(error, DBAPIError) and error.connection_invalidated:
            return True
        if isinstance(error, OSError | TimeoutError | PoolTimeout | CannotEvaluate):
            return True
        if getattr(error, "sqlstate", None) in _UNAVAILABLE_STATES:
            return True
        error = error.__cause__ or error.__context__
    return False


def assign_codes(execution: ExecutionContext) -> None:
    """Gives every error of a finished operation an extensions.code and masks unexpected ones
    (logged with their trace). Called by the schema's extension (graphql/request_hooks.py)."""
    result = execution.result
    errors = getattr(result, "errors", None)
    if result is None or not errors:
        return
    processed: list[GraphQLError] = []
    for error in errors:
        if _is_unstorable_text(error.original_error):
            error = GraphQLError(
                UNSTORABLE_TEXT_MESSAGE,
                nodes=error.nodes,
                path=error.path,
                extensions={"code": "BAD_USER_INPUT"},
            )
        elif _is_database_unavailable(error.original_error):
            log.warning(
                "database unavailable in %s at %s: %s",
                execution.operation_name or "anonymous operation",
                error.path,
                type(error.original_error).__name__,
            )
            error = GraphQLError(
                UNAVAILABLE_MESSAGE,
                nodes=error.nodes,
                path=error.path,
                extensions={"code": "SERVICE_UNAVAILABLE"},
            )
        elif _should_mask(error):
            log.error(
                "unexpected error in %s at %s",
                execution.operation_name or "anonymous operation",
                error.path,
                exc_info=error.original_error,
            )
            error = GraphQLError(
                MASKED_MESSAGE,
                nodes=error.nodes,
                path=error.path,
                extensions={"code": "INTERNAL_SERVER_ERROR"},
            )
        elif not (error.extensions or {}).get("code"):
            extensions: dict[str, Any] = dict(error.extensions or {})
            extensions["code"] = _code_for(error)
            error.extensions = extensions
        processed.append(error)
    result.errors = processed
