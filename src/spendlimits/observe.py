"""One log line and the request metrics for every request to /graphql, 401s and 413s included.

It wraps the whole /graphql stack, so it sees answers given before GraphQL runs; the caller comes
from the Authenticate middleware and the operation from graphql.operation_outcome, both through the
ASGI scope's "state". Neither the token nor any variable is ever logged.
"""

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from spendlimits import metrics
from spendlimits.auth.principal import Principal
from spendlimits.graphql.operation_outcome import STATE_KEY, OperationOutcome

log = logging.getLogger("spendlimits.request")

_OUTCOME_BY_STATUS: dict[int, metrics.RequestOutcome] = {
    401: "unauthenticated",
    413: "too_large",
    503: "unavailable",
}


def principal_kind(principal: Principal | None) -> str:
    if principal is None:
        return "anonymous"
    return "service" if principal.is_service else "user"


def request_outcome(status: int | None, operation: OperationOutcome | None) -> metrics.RequestOutcome:
    if status is None:
        return "aborted"
    if status in _OUTCOME_BY_STATUS:
        return _OUTCOME_BY_STATUS[status]
    if status >= 500:
        return "server_error"
    if status >= 400:
        return "bad_request"
    if operation is not None and operation.error_codes:
        return "error"
    return "ok"


class ObserveRequests:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: int | None = None

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # The server's own time, for a client to tell it from its own and the network's.
                timing = f"app;dur={(time.perf_counter() - started) * 1000:.1f}".encode()
                message = {**message, "headers": [*message.get("headers", []), (b"server-timing", timing)]}
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            self._record(scope, status, time.perf_counter() - started)

    @staticmethod
    def _record(scope: Scope, status: int | None, seconds: float) -> None:
        state: dict[str, Any] = scope.get("state") or {}
        operation: OperationOutcome | None = state.get(STATE_KEY)
        if operation is None and status == 200:
            # Only the GraphiQL page is answered without running an operation.
            return
        # "-" when no operation ran: a 401 or 413 is answered before the document is read.
        name = metrics.operation_name(operation.name) if operation is not None else "-"
        outcome = request_outcome(status, operation)
        metrics.record_request(name, outcome, seconds)
        if not log.isEnabledFor(logging.INFO):
            return
        fields: dict[str, Any] = {
            "operation": name,
            "principal": principal_kind(state.get("principal")),
            "outcome": outcome,
            "status": status or 0,
            "duration_ms": round(seconds * 1000, 1),
        }
        if operation is not None and operation.error_codes:
            fields["error_codes"] = list(operation.error_codes)
        log.info("graphql request", extra={"fields": fields})
