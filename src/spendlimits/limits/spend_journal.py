"""The spend folder (migrations 000012 and 000014; docs/spend-journal.md).

Message writes do not touch the rollup: an insert writes only its message, which carries its
transaction's id, and an update or delete appends its correction to ``chat_spend_journal``; so
concurrent writers of one user share no row. Readers see the folded rollup plus what the last fold
did not see (the view ``chat_spend_unfolded``, under ``chat_spend_daily`` and
``chat_spend_period_totals``), so spend is exact whether or not anything folds. What folding buys is
little to read: a decision reads its user's rows not yet folded, and the ranking counts every user
with such rows as a candidate. The server folds in the background; bulk writers (import, demo)
fold when they have committed (a fold leaves the messages of its own transaction to a later one).

Every process of a deployment runs a folder; the SQL function lets one fold at a time (the others'
calls return at once), so replicas need no coordination.
"""

import asyncio
import logging
import time

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from spendlimits import metrics

log = logging.getLogger(__name__)

# No statement timeout for the fold: the service's default (5 s) exists to keep requests from
# hanging, and a fold that catches up on a long backlog (a bulk load with no server running) would
# hit it, roll back and start again from the same backlog for good. A fold blocks no reader and no
# writer (writers only append; the folder is the one writer of the folded rows).
_NO_TIMEOUT = text("SET LOCAL statement_timeout = 0")
_FOLD = text("SELECT spendlimits_fold_spend_journal()")


async def fold(conn: AsyncConnection) -> int | None:
    """Moves what the last fold did not see, as this statement sees it, into the folded rollup and
    returns how many messages and journal rows it took; None when another session is folding.
    Commits with ``conn``'s transaction."""
    await conn.execute(_NO_TIMEOUT)
    moved = await conn.scalar(_FOLD)
    return None if moved is None else int(moved)


async def fold_now(engine: AsyncEngine) -> int | None:
    """One fold in a transaction of its own."""
    async with engine.begin() as conn:
        return await fold(conn)


class JournalFolder:
    """Folds every ``interval_s`` seconds while the server runs."""

    def __init__(self, engine: AsyncEngine, interval_s: float) -> None:
        self._engine = engine
        self._interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None and self._interval_s > 0:
            self._task = asyncio.create_task(self._run(), name="spend-journal-folder")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        failing = False
        while True:
            started = time.perf_counter()
            try:
                moved = await fold_now(self._engine)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                metrics.JOURNAL_FOLD_ERRORS.inc()
                # Once per streak of failures: a database that is down fails every fold, and the
                # requests' own errors already say so.
                if not failing:
                    log.warning(
                        "folding the spend journal failed: %s (retrying every %.3f s)", exc, self._interval_s
                    )
                failing = True
            else:
                if failing:
                    log.info("folding the spend journal works again")
                failing = False
                if moved:
                    metrics.JOURNAL_FOLDED_ROWS.inc(moved)
                    metrics.JOURNAL_FOLD_SECONDS.observe(time.perf_counter() - started)
            await asyncio.sleep(self._interval_s)
