"""The live status parts of one server process, started and stopped with it."""

import logging

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.auth.authenticator import Authenticator
from spendlimits.live.clock import Clock
from spendlimits.live.hub import Hub
from spendlimits.live.notify import Listener
from spendlimits.live.socket import LiveView
from spendlimits.live.watches import Watches
from spendlimits.settings import Settings

log = logging.getLogger(__name__)


def engine_dsn(engine: AsyncEngine) -> str:
    """The engine's database, as a URL asyncpg connects to by itself."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def listener_dsn(engine: AsyncEngine, settings: Settings) -> str | None:
    """Where the LISTEN connection goes, as a URL asyncpg connects to by itself; None for nowhere.

    A transaction-mode pooler hands the session to other clients between transactions, so a LISTEN
    through it never hears anything, and asyncpg's statements collide with other sessions' there
    (seen: a listener reconnecting in a loop). Behind one, only SPENDLIMITS_LIVE_DATABASE_URL (a
    direct or session-mode address) gets a listener.
    """
    if settings.live.database_url:
        url = make_url(settings.live.database_url)
        return url.set(drivername="postgresql").render_as_string(hide_password=False)
    if settings.db_pooler == "transaction":
        return None
    return engine_dsn(engine)


class LiveStatus:
    def __init__(
        self,
        engine: AsyncEngine,
        settings: Settings,
        authenticator: Authenticator,
        clock: Clock | None = None,
    ) -> None:
        self.hub = Hub(engine, settings.live.min_interval_ms / 1000, clock)
        self.dsn = listener_dsn(engine, settings)
        self.listener = Listener(self.dsn or "", self.hub.changed, watched=self.hub.watched_users)
        self.hub.watches = Watches(engine, lambda: self.listener.backend_pid)
        self._warned = False
        #: The ASGI app of the WebSocket route.
        self.view = LiveView(engine, settings, self.hub, authenticator, on_first_connection=self.start)

    def start(self) -> None:
        """Idempotent: the lifespan calls it, and so does the first connection."""
        self.hub.start()
        if self.dsn is not None:
            self.listener.start()
        elif not self._warned:
            self._warned = True
            log.warning(
                "live status: DATABASE_URL is a transaction-mode pooler, which cannot deliver "
                "notifications; subscribers get their first status and period ends only. Set "
                "SPENDLIMITS_LIVE_DATABASE_URL to a direct or session-mode address."
            )

    async def close(self) -> None:
        """Subscriptions complete, the listener and the timers stop."""
        await self.view.close()
        await self.hub.close()
        await self.listener.close()
