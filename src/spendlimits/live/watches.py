"""This process's rows in live_watches: the users it has subscribers for (migration 000006).

The triggers notify only watched users, so a subscription must not read its first status before
every write that missed its watch is visible. A write whose trigger ran before the watch committed
sent nothing; its transaction had an xid by then (the trigger runs after the write), so it is in
flight or committed when the watch's commit is over. Hence: commit the watch, take a snapshot, wait
until every transaction it lists as in progress has ended, and only then read. Writes that commit
later see the watch and notify.

Only transactions that can write our tables are waited for: the snapshot covers the whole cluster,
and an xid that pg_stat_activity shows in another database is left out (a long transaction next
door must not hold our subscribers back). An xid it does not show (a prepared transaction, or a
session of a role whose details we may not see) is waited for.

The wait is bounded (``settle_seconds``): a transaction left open elsewhere must not hold a
subscriber back. When it runs out, the first status is sent anyway, the wait goes on in the
background and the user's status is read again when it ends.
"""

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.db.engine import run_reconnecting

#: Rows of processes whose LISTEN connection is gone (the process died, or lost the connection).
PRUNE = """
DELETE FROM live_watches w
WHERE NOT EXISTS (
    SELECT 1 FROM pg_stat_activity a
    WHERE a.pid = w.listener_pid AND a.application_name = 'spendlimits-live'
)
"""
#: Run on the LISTEN connection itself: its rows carry its own pid.
REGISTER = """
INSERT INTO live_watches (user_id, listener_pid)
SELECT unnest($1::uuid[]), pg_backend_pid()
ON CONFLICT DO NOTHING
"""
FORGET_OWN = "DELETE FROM live_watches WHERE listener_pid = pg_backend_pid()"
_WATCH = text("INSERT INTO live_watches (user_id, listener_pid) VALUES (:user, :pid) ON CONFLICT DO NOTHING")
_UNWATCH = text("DELETE FROM live_watches WHERE user_id = :user AND listener_pid = :pid")
#: The transactions in flight now (after our commit) that may belong to this database.
_IN_FLIGHT = """
SELECT array_agg(x::text) FROM pg_snapshot_xip(pg_current_snapshot()) x
WHERE NOT EXISTS (
    SELECT 1 FROM pg_stat_activity a
    WHERE a.backend_xid = x::xid AND a.datname IS DISTINCT FROM current_database()
)
"""
#: The xids are integers read from the database: safe to inline.
_ENDED = (
    "SELECT NOT EXISTS (SELECT 1 FROM unnest('{{{}}}'::xid8[]) x WHERE pg_xact_status(x) = 'in progress')"
)

#: Runs one SQL statement and returns its single value.
Scalar = Callable[[str], Awaitable[Any]]


async def settle(scalar: Scalar, seconds: float) -> bool:
    """Waits until every transaction in flight now has ended; False when ``seconds`` ran out first."""
    xids = await scalar(_IN_FLIGHT)
    if not xids:
        return True
    ended = _ENDED.format(",".join(str(int(xid)) for xid in xids))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    pause = 0.002
    while not await scalar(ended):
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.05)
    return True


class Watches:
    """Adds and removes this process's watch rows through the pool; the LISTEN connection's pid
    (None while it is down: the listener registers every user when it is back) keys them."""

    def __init__(
        self,
        engine: AsyncEngine,
        listener_pid: Callable[[], int | None],
        settle_seconds: float = 2.0,
    ) -> None:
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._pid = listener_pid
        self.settle_seconds = settle_seconds

    async def add(self, user: uuid.UUID) -> bool:
        """Watched and settled: False when the wait ran out (the caller reads again later)."""
        pid = self._pid()
        if pid is None:
            # The listener registers the hub's users when it connects and then re-reads them all.
            return True

        async def run(conn: Any) -> bool:
            await conn.execute(_WATCH, {"user": user, "pid": pid})

            async def scalar(sql: str) -> Any:
                return await conn.scalar(text(sql))

            return await settle(scalar, self.settle_seconds)

        result: bool = await run_reconnecting(self._engine, run)
        return result

    async def remove(self, user: uuid.UUID) -> None:
        pid = self._pid()
        if pid is not None:
            await run_reconnecting(
                self._engine, lambda conn: conn.execute(_UNWATCH, {"user": user, "pid": pid})
            )
