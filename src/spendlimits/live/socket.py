"""The graphql-transport-ws endpoint on /graphql: Strawberry's protocol handler, with our rules.

- connection_init carries {"Authorization": "Bearer ..."}: a missing, unknown or revoked token
  closes the socket with 4403 before anything is sent; the token is checked again every
  SPENDLIMITS_LIVE_REVERIFY_MS, and a revoked one ends the connection (4403) and its subscriptions.
- Bounds: subscriptions per connection (Strawberry's own limit) and connections per token in this
  process (4429).
- The server pings (the protocol's ping message) every SPENDLIMITS_LIVE_PING_MS; a client that
  has not answered the previous ping by then is gone (4408), which frees its subscriptions.
- Only subscriptions: queries and mutations go over HTTP, where each request has its own deadline
  and guards.
"""

import asyncio
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import suppress
from typing import Any, cast

from graphql import OperationType, get_operation_ast, parse
from graphql.error import GraphQLError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    PongMessage,
    SubscribeMessage,
)

from spendlimits.auth.authenticator import Authenticator, DatabaseUnavailable, bearer_secret
from spendlimits.auth.principal import Principal
from spendlimits.graphql.schema import schema
from spendlimits.graphql.subscriptions import LiveContext
from spendlimits.live.hub import Hub
from spendlimits.live.tokens import TokenWatch
from spendlimits.settings import Settings

log = logging.getLogger(__name__)

#: Before connection_init: may do nothing (Strawberry refuses a subscribe before the ack).
NOBODY = Principal(token_id=uuid.UUID(int=0), user_id=None, role=None, service=None)

FORBIDDEN = 4403
TOO_MANY = 4429
NO_PONG = 4408
TRY_AGAIN_LATER = 1013


class _Refused(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class LiveHandler(BaseGraphQLTransportWSHandler[LiveContext, None]):
    view: "LiveView"
    context: LiveContext

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pinger: asyncio.Task[None] | None = None
        self._awaiting_pong = False
        self._counted_token: uuid.UUID | None = None

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        try:
            await super().handle_connection_init(message)
        except _Refused as refused:
            await self.websocket.close(code=refused.code, reason=refused.reason)
            return
        if self.connection_acknowledged:
            principal = self.context.principal
            self._counted_token = principal.token_id
            self.view.watch.watch(self, principal.token_id, self.revoke)
            self._pinger = asyncio.create_task(self._ping_loop())

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if self.connection_acknowledged and not _is_subscription(message):
            error = GraphQLError(
                "Only subscriptions are served over WebSocket; send queries and mutations over HTTP.",
                extensions={"code": "BAD_REQUEST"},
            )
            await self.send_message({"id": message["id"], "type": "error", "payload": [error.formatted]})
            return
        await super().handle_subscribe(message)

    async def handle_pong(self, message: PongMessage) -> None:
        self._awaiting_pong = False

    async def _ping_loop(self) -> None:
        interval = self.view.settings.live.ping_ms / 1000
        while True:
            await asyncio.sleep(interval)
            if self._awaiting_pong:
                await self._end(NO_PONG, "No pong to the last ping")
                return
            self._awaiting_pong = True
            await self.send_message({"type": "ping"})

    async def revoke(self) -> None:
        """The token was revoked (or its user deleted): its subscriptions end now."""
        log.info("closing a live connection: its token is no longer valid")
        await self._end(FORBIDDEN, "Forbidden")

    async def _end(self, code: int, reason: str) -> None:
        # Operations first, so that none sends after the close.
        for operation_id in list(self.operations):
            await self.cleanup_operation(operation_id)
        # RuntimeError: already closed by the client or by the server's shutdown.
        with suppress(RuntimeError):
            await self.websocket.close(code=code, reason=reason)

    async def shutdown(self) -> None:
        if self._pinger is not None:
            self._pinger.cancel()
        self.view.watch.forget(self)
        if self._counted_token is not None:
            self.view.release(self._counted_token)
            self._counted_token = None
        await super().shutdown()


def _is_subscription(message: SubscribeMessage) -> bool:
    try:
        payload = message["payload"]
        document = parse(payload["query"])
        operation = get_operation_ast(document, payload.get("operationName"))
    except Exception:
        return True  # Strawberry answers malformed documents as the protocol says.
    return operation is None or operation.operation is OperationType.SUBSCRIPTION


class LiveView(GraphQL[LiveContext, None]):
    graphql_transport_ws_handler_class = LiveHandler

    def __init__(
        self,
        engine: AsyncEngine,
        settings: Settings,
        hub: Hub,
        authenticator: Authenticator,
        on_first_connection: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__(
            schema,
            graphql_ide=None,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            max_subscriptions_per_connection=settings.live.max_subscriptions_per_connection,
        )
        self.engine = engine
        self.settings = settings
        self.hub = hub
        self.authenticator = authenticator
        self._on_first_connection = on_first_connection
        self.watch = TokenWatch(engine, settings.live.reverify_ms / 1000)
        self._connections: Counter[uuid.UUID] = Counter()

    async def get_context(self, request: Any, response: Any) -> LiveContext:
        return LiveContext(
            # The WebSocket stands in for the request: the resolvers and extensions read its scope.
            request=cast(Request, request),
            response=None,
            engine=self.engine,
            settings=self.settings,
            principal=NOBODY,
            started_at=time.monotonic(),
            hub=self.hub,
        )

    async def on_ws_connect(self, context: LiveContext) -> None:
        # Normally started by the app's lifespan already; ASGI test clients may run none.
        self._on_first_connection()
        header = context.connection_params.get("Authorization") or context.connection_params.get(
            "authorization"
        )
        secret = bearer_secret(header) if isinstance(header, str) else None
        if secret is None:
            raise ConnectionRejectionError
        try:
            principal = await self.authenticator.authenticate(secret)
        except DatabaseUnavailable as exc:
            log.warning("cannot verify a live connection's token: database unavailable: %s", exc)
            raise _Refused(TRY_AGAIN_LATER, "The service cannot reach its database.") from None
        if principal is None:
            raise ConnectionRejectionError
        if self._connections[principal.token_id] >= self.settings.live.max_connections_per_token:
            raise _Refused(TOO_MANY, "Too many connections for this token.")
        self._connections[principal.token_id] += 1
        context.principal = principal

    def release(self, token_id: uuid.UUID) -> None:
        self._connections[token_id] -= 1
        if self._connections[token_id] <= 0:
            del self._connections[token_id]

    async def close(self) -> None:
        await self.watch.close()
