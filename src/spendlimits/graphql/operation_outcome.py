"""Leaves each operation's name and error codes where the request's log line and metrics find them.

One hook per operation, none per field (docs/design.md). List it before ErrorCodes in the
schema's extensions: hooks finish in reverse order, so it then sees the codes ErrorCodes assigned.
"""

from collections.abc import Iterator
from dataclasses import dataclass

from strawberry.extensions import SchemaExtension

#: Key in the ASGI scope's "state" dict.
STATE_KEY = "graphql_operation"


@dataclass(frozen=True, slots=True)
class OperationOutcome:
    #: The operation's name, or None for an anonymous operation (or a document that did not parse).
    name: str | None
    #: extensions.code of each error, in order; empty when the operation succeeded.
    error_codes: tuple[str, ...]


class RecordOperation(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        execution = self.execution_context
        errors = getattr(execution.result, "errors", None) or ()
        outcome = OperationOutcome(
            name=execution.operation_name,
            error_codes=tuple(str((error.extensions or {}).get("code", "")) for error in errors),
        )
        execution.context.request.scope.setdefault("state", {})[STATE_KEY] = outcome
