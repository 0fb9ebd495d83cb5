"""Leaves each operation's name and error codes where the request's log line and metrics find them.

Once per operation, never per field (docs/design.md), by the schema's extension
(graphql/request_hooks.py), after errors.assign_codes: it records the codes that assigned.
"""

from dataclasses import dataclass

from strawberry.types import ExecutionContext

#: Key in the ASGI scope's "state" dict.
STATE_KEY = "graphql_operation"


@dataclass(frozen=True, slots=True)
class OperationOutcome:
    #: The operation's name, or None for an anonymous operation (or a document that did not parse).
    name: str | None
    #: extensions.code of each error, in order; empty when the operation succeeded.
    error_codes: tuple[str, ...]


def record(execution: ExecutionContext) -> None:
    """Stores the finished operation's outcome in the request's ASGI scope."""
    errors = getattr(execution.result, "errors", None) or ()
    outcome = OperationOutcome(
        name=execution.operation_name,
        error_codes=tuple(str((error.extensions or {}).get("code", "")) for error in errors),
    )
    execution.context.request.scope.setdefault("state", {})[STATE_KEY] = outcome
