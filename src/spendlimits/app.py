"""The ASGI application: /graphql (authenticated), /healthz, /metrics, the GraphiQL assets, the web
console at /console, and the request-wide guards."""

import gc
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from spendlimits import console, graphiql, metrics, metrics_workers
from spendlimits.auth.authenticator import Authenticator, DatabaseUnavailable, bearer_secret
from spendlimits.cors import cors_middleware
from spendlimits.db.deadline import CannotEvaluate, within_deadline
from spendlimits.db.engine import run_reconnecting
from spendlimits.graphql.budget import RequestBudget
from spendlimits.graphql.trusted_documents import default_registry
from spendlimits.graphql.view import GraphQLView
from spendlimits.limits.spend_journal import JournalFolder
from spendlimits.live.service import LiveStatus
from spendlimits.logs import configure_logging
from spendlimits.metrics_endpoint import metrics_endpoint
from spendlimits.observe import ObserveRequests
from spendlimits.settings import Settings

log = logging.getLogger(__name__)


def _error(status: int, message: str, code: str) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": code}}]}, status_code=status, headers=headers
    )


def _wants_ide(scope: Scope) -> bool:
    """A browser asking for the GraphiQL page, which needs no token (it asks for one itself)."""
    if scope["method"] != "GET" or b"query=" in scope.get("query_string", b""):
        return False
    accept = dict(scope["headers"]).get(b"accept", b"")
    return b"text/html" in accept


class Authenticate:
    """Puts the caller's Principal in scope["state"], or answers 401 before GraphQL runs."""

    def __init__(self, view: GraphQLView, authenticator: Authenticator) -> None:
        self.view = view
        self.authenticator = authenticator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.view(scope, receive, send)
            return
        if _wants_ide(scope):
            # Served here rather than by the view, which would build a context (and need a caller).
            page: Response = await self.view.render_graphql_ide(Request(scope, receive))
            await page(scope, receive, send)
            return
        started_at = time.monotonic()
        secret = bearer_secret(Request(scope).headers.get("authorization"))
        if secret is None:
            response: Response = _error(401, "Missing bearer token.", "UNAUTHENTICATED")
            await response(scope, receive, send)
            return
        try:
            principal = await self.authenticator.authenticate(secret)
        except DatabaseUnavailable as exc:
            log.warning("cannot verify a token: database unavailable: %s", exc)
            response = _error(503, "The service cannot reach its database.", "SERVICE_UNAVAILABLE")
            await response(scope, receive, send)
            return
        if principal is None:
            response = _error(401, "Invalid or revoked token.", "UNAUTHENTICATED")
            await response(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state["principal"] = principal
        state["started_at"] = started_at
        await self.view(scope, receive, send)


class LimitBody:
    """Refuses request bodies over a size with 413, whether or not Content-Length is sent."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _error(413, f"Request body is larger than {self.max_bytes} bytes.", "BAD_USER_INPUT")(
                scope, receive, send
            )
            return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except BodyTooLarge:
            await _error(413, f"Request body is larger than {self.max_bytes} bytes.", "BAD_USER_INPUT")(
                scope, receive, send
            )


class BodyTooLarge(Exception):
    pass


def create_app(engine: AsyncEngine, settings: Settings) -> Starlette:
    async def ping() -> None:
        await run_reconnecting(engine, lambda conn: conn.execute(text("SELECT 1")))

    async def healthz(_: Request) -> Response:
        try:
            # Bounded like a check: against a hung database the probe hung for good, and each
            # retry by a load balancer held one more pooled connection.
            await within_deadline(ping(), settings.check_timeout_ms / 1000)
        except Exception as exc:
            cause = exc.cause if isinstance(exc, CannotEvaluate) else type(exc).__name__
            log.warning("health check failed: %s", cause)
            return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    default_registry()  # a bad registry stops the server here, not at a request
    metrics.instrument_engine(engine, settings.pool_size + settings.pool_max_overflow)
    authenticator = Authenticator(engine, settings.check_timeout_ms / 1000)
    view = Authenticate(GraphQLView(engine, settings), authenticator)
    budgeted = RequestBudget(view, settings.request_timeout_ms / 1000, settings.max_response_bytes)
    graphql = ObserveRequests(LimitBody(budgeted, settings.max_body_bytes))

    live = LiveStatus(engine, settings, authenticator)
    folder = JournalFolder(engine, settings.fold_interval_ms / 1000)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        live.start()
        folder.start()
        yield
        metrics_workers.worker_stopped()
        await folder.close()
        await live.close()
        await engine.dispose()

    return Starlette(
        routes=[
            # Every method reaches the view, which answers 405 in the JSON shape of every error.
            Route("/graphql", graphql),
            # Subscriptions: graphql-transport-ws, authenticated by connection_init (docs/live-status.md).
            WebSocketRoute("/graphql", live.view),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics_endpoint(engine, authenticator), methods=["GET"]),
            Mount(graphiql.ASSETS_PATH, app=graphiql.assets_app()),
            *console.routes(),
        ],
        lifespan=lifespan,
        middleware=cors_middleware(settings),
    )


def app_from_env() -> Starlette:
    """The factory uvicorn calls in each worker: settings and database from the environment."""
    from spendlimits.db.engine import create_engine, database_url

    settings = Settings.from_env()
    configure_logging(settings.log_level, settings.log_format)
    app = create_app(create_engine(database_url(settings), settings), settings)
    # The schema, the modules and the app are alive for good: moved out of the collector's sight,
    # they are no longer traversed by every full collection. Measured at 16 concurrent checks:
    # p99 115 -> 49 ms (BENCHMARKS.md). Objects made later are collected as before.
    gc.collect()
    gc.freeze()
    return app
