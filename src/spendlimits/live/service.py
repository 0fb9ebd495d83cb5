"""The live status parts of one server process, started and stopped with it."""

from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.auth.authenticator import Authenticator
from spendlimits.live.clock import Clock
from spendlimits.live.hub import Hub
from spendlimits.live.notify import Listener
from spendlimits.live.socket import LiveView
from spendlimits.live.watches import Watches
from spendlimits.settings import Settings


def listener_dsn(engine: AsyncEngine) -> str:
    """The engine's database, as a URL asyncpg connects to by itself."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


class LiveStatus:
    def __init__(
        self,
        engine: AsyncEngine,
        settings: Settings,
        authenticator: Authenticator,
        clock: Clock | None = None,
    ) -> None:
        self.hub = Hub(engine, settings.live.min_interval_ms / 1000, clock)
        self.listener = Listener(listener_dsn(engine), self.hub.changed, watched=self.hub.watched_users)
        self.hub.watches = Watches(engine, lambda: self.listener.backend_pid)
        #: The ASGI app of the WebSocket route.
        self.view = LiveView(engine, settings, self.hub, authenticator, on_first_connection=self.start)

    def start(self) -> None:
        """Idempotent: the lifespan calls it, and so does the first connection."""
        self.hub.start()
        self.listener.start()

    async def close(self) -> None:
        """Subscriptions complete, the listener and the timers stop."""
        await self.view.close()
        await self.hub.close()
        await self.listener.close()
