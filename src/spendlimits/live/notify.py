"""One LISTEN connection per process: which users' statuses changed, whichever process wrote.

The connection is asyncpg's own, outside the pool: a pooled connection is handed to requests, and a
LISTEN on it would hear nothing while it sat in the pool (or hear for the wrong owner). It is
probed every few seconds, so a connection the server ended (pg_terminate_backend, a restart, a
network cut) is noticed even when no close reached us; it is then opened again with backoff.
Notifications sent while it was down are lost for good, so every (re)connection is followed by a
resync: the hub re-reads every subscriber's status.

The connection's backend pid keys this process's rows in live_watches. On each (re)connection the
listener registers every user the hub has subscribers for, under the new pid, waits for the
transactions then in flight (live/watches.py) and only then asks for the resync; each probe prunes
the rows of processes whose LISTEN connection is gone; on close it removes its own rows.
"""

import asyncio
import logging
import uuid
from collections.abc import Callable

import asyncpg

from spendlimits.live.watches import FORGET_OWN, PRUNE, REGISTER, settle

log = logging.getLogger(__name__)

#: The channel of migration 000006's triggers.
CHANNEL = "spendlimits_live_status"
#: The payload meaning "everyone".
EVERYONE = "*"

#: None means everyone.
OnChange = Callable[[set[uuid.UUID] | None], None]
#: The users with a subscriber in this process.
Watched = Callable[[], set[uuid.UUID]]


def parse_payload(payload: str) -> set[uuid.UUID] | None:
    """The user ids of a notification; None for everyone (or a payload this version cannot read)."""
    if payload == EVERYONE:
        return None
    try:
        return {uuid.UUID(part) for part in payload.split(",")}
    except ValueError:
        log.warning("unreadable live status notification; refreshing everyone")
        return None


class Listener:
    def __init__(
        self,
        dsn: str,
        on_change: OnChange,
        probe_seconds: float = 5.0,
        max_backoff_seconds: float = 5.0,
        watched: Watched = set,
        settle_seconds: float = 2.0,
    ) -> None:
        self._dsn = dsn
        self._on_change = on_change
        self._watched = watched
        self._settle = settle_seconds
        self._probe = probe_seconds
        self._max_backoff = max_backoff_seconds
        self._task: asyncio.Task[None] | None = None
        #: The backend pid of the current connection (tests and the log name it); None when down.
        self.backend_pid: int | None = None
        #: Connections opened so far; more than one means the listener reconnected.
        self.connections = 0
        self.connected = asyncio.Event()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="live-listener")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        self._on_change(parse_payload(str(payload)))

    async def _run(self) -> None:
        backoff = 0.1
        while True:
            try:
                await self._listen_once()
                backoff = 0.1
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("live status listener unavailable (%s); retrying in %.1f s", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)

    async def _listen_once(self) -> None:
        conn = await asyncpg.connect(
            self._dsn, timeout=10, server_settings={"application_name": "spendlimits-live"}
        )
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _conn: lost.set())
        try:
            await conn.add_listener(CHANNEL, self._notified)
            await conn.execute(PRUNE)
            # Set before the users are taken: a subscriber added later writes its row under this pid.
            self.backend_pid = conn.get_server_pid()
            await conn.execute(REGISTER, list(self._watched()))
            self.connections += 1
            self.connected.set()
            if self.connections > 1:
                log.warning("live status listener reconnected; resyncing every subscriber")
            # Whatever was notified while no one listened (or watched) is gone: read everyone again,
            # at once, and once more when the writes that missed the new rows are visible.
            self._on_change(None)
            # (Bounded: after the wait runs out, the later read is the best there is.)
            await settle(conn.fetchval, self._settle)
            self._on_change(None)
            while not lost.is_set():
                try:
                    await asyncio.wait_for(lost.wait(), timeout=self._probe)
                except TimeoutError:
                    await conn.execute(PRUNE, timeout=self._probe)
            raise ConnectionError("the listening connection was closed")
        finally:
            self.connected.clear()
            self.backend_pid = None
            if not conn.is_closed():
                try:
                    # Stopping: nobody here needs notifications any more (pruned anyway if this fails).
                    await asyncio.shield(conn.execute(FORGET_OWN, timeout=2))
                except Exception as exc:
                    log.debug("could not remove this process's live watches: %s", exc)
                conn.terminate()
