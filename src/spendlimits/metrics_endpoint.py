"""GET /metrics: the Prometheus text format, for a bearer token of an OWNER, an AUDITOR or a service.

Spec section 8 exempts only the GraphiQL page and /healthz from authentication, so Prometheus
scrapes with a token (its `authorization` scrape setting). Token checks are cached for a minute
when the database is down, so a regular scraper keeps seeing metrics through an outage.
"""

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from spendlimits import metrics
from spendlimits.auth.authenticator import Authenticator, DatabaseUnavailable, bearer_secret
from spendlimits.auth.principal import Principal, Role

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _error(status: int, message: str, code: str) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": code}}]}, status_code=status, headers=headers
    )


def may_read_metrics(principal: Principal) -> bool:
    return principal.is_service or principal.role in (Role.OWNER, Role.AUDITOR)


def metrics_endpoint(
    engine: AsyncEngine, authenticator: Authenticator
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        secret = bearer_secret(request.headers.get("authorization"))
        if secret is None:
            return _error(401, "Missing bearer token.", "UNAUTHENTICATED")
        try:
            principal = await authenticator.authenticate(secret)
        except DatabaseUnavailable as exc:
            log.warning("cannot verify a token for /metrics: database unavailable: %s", exc)
            return _error(503, "The service cannot reach its database.", "SERVICE_UNAVAILABLE")
        if principal is None:
            return _error(401, "Invalid or revoked token.", "UNAUTHENTICATED")
        if not may_read_metrics(principal):
            return _error(403, "Metrics are for owners, auditors and services.", "FORBIDDEN")
        return Response(metrics.exposition(engine), media_type=CONTENT_TYPE)

    return endpoint
