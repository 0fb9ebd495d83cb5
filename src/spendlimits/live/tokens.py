"""Re-checking the tokens of open connections: one statement for all of them, every so often.

A request's token is checked when the request arrives; a WebSocket lives for hours, so its token is
checked again on a timer, and a connection whose token was revoked (or whose user was deleted) is
ended. One statement per tick for every connection of the process, not one per connection.
"""

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from spendlimits.db.engine import run_reconnecting

log = logging.getLogger(__name__)

_STILL_VALID = text(
    """
    SELECT t.id FROM api_tokens t LEFT JOIN users u ON u.id = t.user_id
    WHERE t.id = ANY(:ids) AND t.revoked_at IS NULL AND (t.user_id IS NULL OR NOT u.deleted)
    """
)

OnRevoked = Callable[[], Awaitable[None]]


class TokenWatch:
    def __init__(self, engine: AsyncEngine, interval_seconds: float) -> None:
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._interval = interval_seconds
        self._watched: dict[object, tuple[uuid.UUID, OnRevoked]] = {}
        self._task: asyncio.Task[None] | None = None

    def watch(self, handle: object, token_id: uuid.UUID, on_revoked: OnRevoked) -> None:
        self._watched[handle] = (token_id, on_revoked)
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="live-token-watch")

    def forget(self, handle: object) -> None:
        self._watched.pop(handle, None)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def check_now(self) -> None:
        watched = list(self._watched.items())
        if not watched:
            return
        ids = list({token_id for _, (token_id, _) in watched})

        async def still_valid(conn: AsyncConnection) -> set[uuid.UUID]:
            return set((await conn.execute(_STILL_VALID, {"ids": ids})).scalars())

        valid = await run_reconnecting(self._engine, still_valid)
        for handle, (token_id, on_revoked) in watched:
            if token_id not in valid and self._watched.pop(handle, None) is not None:
                await on_revoked()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.check_now()
            except Exception as exc:
                # The database is away: connections stay as they are, checked again next tick, as
                # requests keep a recently verified token through an outage.
                log.warning("cannot re-check the tokens of live connections: %s", type(exc).__name__)
