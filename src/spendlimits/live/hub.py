"""This process's subscribers and the statuses it pushes to them.

Subscribers are grouped by key (user, organization): one status read serves every subscriber of a
key, and one statement reads every key due at the same moment. A change notified for a user makes
each of that user's keys due, at most once per ``min_interval`` (changes in between are coalesced
into the next read). The read starts after the notification arrived, which PostgreSQL delivers
only after the writing transaction committed: the status sent is the one the database has after
the change, never an older one. A notification arriving while a read is under way makes the key due
again, so the last change is never left out.

The triggers notify only users in live_watches (live/watches.py): the first subscriber of a user
adds this process's watch row, waits until every write that could have missed it is visible, and
only then reads; the last one to leave removes it. Watch changes of one user run in order.

A period ends without any write: a timer wakes at the earliest period end among the keys and makes
the keys whose period ended due, and the read (at the clock's now) finds the new period.
"""

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.db.engine import run_reconnecting
from spendlimits.limits.status import Status, StatusKey, statuses
from spendlimits.live.clock import Clock, SystemClock
from spendlimits.live.watches import Watches

log = logging.getLogger(__name__)

#: (user, organization or None).
Key = tuple[uuid.UUID, uuid.UUID | None]
#: Keys read by one statement at most; a broadcast to thousands of subscribers takes a few.
_BATCH = 500
#: After a failed read, the keys are tried again this much later.
_RETRY_SECONDS = 1.0


class UserNotFound(Exception):
    """The subscriber's user does not exist (or no longer does)."""


@dataclass(eq=False, slots=True)
class Feed:
    """One subscriber: the newest status not yet taken (older ones are dropped, never queued)."""

    key: Key
    pending: Status | None = None
    #: The last status handed out or pending: an identical one is not sent again.
    last: Status | None = None
    #: loop.time() when the read of ``last`` started: a read that started earlier is older.
    as_of: float = float("-inf")
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False

    def offer(self, status: Status, as_of: float) -> None:
        # A first read and a refresh can overlap; the one that started later holds the newer status.
        if as_of < self.as_of:
            return
        self.as_of = as_of
        if status == self.last:
            return
        self.last = self.pending = status
        self.ready.set()

    def close(self) -> None:
        self.closed = True
        self.ready.set()

    def __aiter__(self) -> "Feed":
        return self

    async def __anext__(self) -> Status:
        while self.pending is None:
            if self.closed:
                raise StopAsyncIteration
            self.ready.clear()
            await self.ready.wait()
        status, self.pending = self.pending, None
        return status


@dataclass(eq=False, slots=True)
class _KeyState:
    feeds: set[Feed] = field(default_factory=set)
    #: loop.time() of the last read started for this key.
    last_read: float = float("-inf")
    #: A read is scheduled (due now or after min_interval).
    scheduled: bool = False
    period_end: datetime | None = None


class Hub:
    def __init__(
        self,
        engine: AsyncEngine,
        min_interval_seconds: float = 0.25,
        clock: Clock | None = None,
        watches: Watches | None = None,
    ) -> None:
        # Statuses are single statements: autocommit saves BEGIN and COMMIT round trips.
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._min_interval = min_interval_seconds
        self.clock: Clock = clock or SystemClock()
        self._keys: dict[Key, _KeyState] = {}
        self._by_user: dict[uuid.UUID, set[Key]] = {}
        self._due: set[Key] = set()
        self._wake_reader = asyncio.Event()
        self._wake_timer = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False
        #: None: nothing registers watches (a hub fed by hand, in tests).
        self.watches = watches
        #: Per watched user, the task adding its watch (it says whether the wait settled).
        self._watching: dict[uuid.UUID, asyncio.Task[bool]] = {}
        #: Per user, the last watch change under way: the next one runs after it.
        self._watch_ops: dict[uuid.UUID, asyncio.Task[Any]] = {}
        #: Statements run to refresh subscribers (not counting first statuses); for tests and benches.
        self.reads = 0

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self) -> None:
        if not self._tasks and not self._closed:
            self._tasks = [
                asyncio.create_task(self._read_loop(), name="live-reader"),
                asyncio.create_task(self._timer_loop(), name="live-period-timer"),
            ]

    async def close(self) -> None:
        """Ends every feed (subscriptions complete) and stops the tasks."""
        self._closed = True
        for state in self._keys.values():
            for feed in state.feeds:
                feed.close()
        # Unfinished watch changes are dropped: the listener removes this process's rows as it stops.
        ops = [*self._tasks, *self._watch_ops.values()]
        for task in ops:
            task.cancel()
        await asyncio.gather(*ops, return_exceptions=True)
        self._tasks = []

    def watched_users(self) -> set[uuid.UUID]:
        """Users with a subscriber here: the listener registers them all when it (re)connects."""
        return set(self._by_user)

    @property
    def subscribers(self) -> int:
        return sum(len(state.feeds) for state in self._keys.values())

    # -- subscribing ------------------------------------------------------------------------------

    @asynccontextmanager
    async def subscribe(self, user_id: uuid.UUID, organization_id: uuid.UUID | None) -> AsyncIterator[Feed]:
        """A feed of the key's statuses: the current one at once, then each change.

        Raises UserNotFound when the user does not exist.
        """
        self.start()
        key = (user_id, organization_id)
        feed = Feed(key)
        # Registered before the first read: a change committed while it runs makes the key due,
        # so it cannot fall between the first status and the next.
        state = self._keys.get(key)
        if state is None:
            state = self._keys[key] = _KeyState()
            self._by_user.setdefault(user_id, set()).add(key)
        state.feeds.add(feed)
        try:
            await self._watched(user_id)
            as_of = asyncio.get_running_loop().time()
            first = (await self._read([key])).get(key)
            if first is None:
                raise UserNotFound(str(user_id))
            feed.offer(first, as_of)
            self._track_period(state, first)
            if self._closed:
                feed.close()
            yield feed
        finally:
            feed.close()
            self._drop(key, feed)

    def _drop(self, key: Key, feed: Feed) -> None:
        state = self._keys.get(key)
        if state is None:
            return
        state.feeds.discard(feed)
        if not state.feeds:
            del self._keys[key]
            self._due.discard(key)
            keys = self._by_user.get(key[0])
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_user[key[0]]
                    self._unwatch(key[0])

    # -- watches --------------------------------------------------------------------------------

    def _chain(self, user: uuid.UUID, work: Callable[[], Awaitable[Any]]) -> asyncio.Task[Any]:
        """Runs ``work`` after the user's previous watch change: a DELETE never overtakes an INSERT."""
        previous = self._watch_ops.get(user)

        async def run() -> Any:
            if previous is not None:
                await asyncio.gather(previous, return_exceptions=True)
            return await work()

        task = asyncio.create_task(run(), name="live-watch")
        self._watch_ops[user] = task

        def done(finished: asyncio.Task[Any]) -> None:
            if self._watch_ops.get(user) is finished:
                del self._watch_ops[user]
            if not finished.cancelled() and finished.exception() is not None:
                log.warning("cannot change a live watch (%s)", type(finished.exception()).__name__)

        task.add_done_callback(done)
        return task

    async def _watched(self, user: uuid.UUID) -> None:
        """Returns once the user's watch is committed and every write that missed it is visible."""
        watches = self.watches
        if watches is None:
            return
        task = self._watching.get(user)
        if task is None or (task.done() and (task.cancelled() or task.exception() is not None)):
            task = self._watching[user] = self._chain(user, lambda: watches.add(user))
        if not await asyncio.shield(task):
            # A transaction stayed open past the wait: read again once it has ended.
            self._chain(user, lambda: self._settle_late(watches, user))

    async def _settle_late(self, watches: Watches, user: uuid.UUID) -> None:
        if user in self._by_user:
            await watches.add(user)
            self.changed({user})

    def _unwatch(self, user: uuid.UUID) -> None:
        self._watching.pop(user, None)
        watches = self.watches
        if watches is not None and not self._closed:
            self._chain(user, lambda: watches.remove(user))

    # -- changes ----------------------------------------------------------------------------------

    def changed(self, users: set[uuid.UUID] | None) -> None:
        """Users whose status may have changed (None: everyone); called by the listener."""
        if users is None:
            for key in list(self._keys):
                self._make_due(key)
            return
        for user in users:
            for key in list(self._by_user.get(user, ())):
                self._make_due(key)

    def _make_due(self, key: Key) -> None:
        state = self._keys.get(key)
        if state is None or state.scheduled:
            return
        state.scheduled = True
        loop = asyncio.get_running_loop()
        delay = state.last_read + self._min_interval - loop.time()
        if delay <= 0:
            self._due_now(key)
        else:
            loop.call_later(delay, self._due_now, key)

    def _due_now(self, key: Key) -> None:
        if key in self._keys:
            self._due.add(key)
            self._wake_reader.set()

    async def _read(self, keys: list[Key]) -> dict[Key, Status]:
        now = self.clock.now()
        asked: list[StatusKey] = [(user, organization, now) for user, organization in keys]
        found = await run_reconnecting(self._engine, lambda conn: statuses(conn, asked, now))
        return {(user, organization): status for (user, organization, _), status in found.items()}

    async def _read_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake_reader.wait()
            self._wake_reader.clear()
            due, self._due = list(self._due), set()
            started = loop.time()
            for key in due:
                state = self._keys.get(key)
                if state is not None:
                    # From here on, a new notification schedules another read.
                    state.scheduled = False
                    state.last_read = started
            for start in range(0, len(due), _BATCH):
                batch = due[start : start + _BATCH]
                try:
                    found = await self._read(batch)
                    self.reads += 1
                except Exception as exc:
                    log.warning("cannot read live statuses (%s); retrying", type(exc).__name__)
                    loop.call_later(_RETRY_SECONDS, self._retry, batch)
                    continue
                for key in batch:
                    self._deliver(key, found.get(key), started)

    def _retry(self, keys: list[Key]) -> None:
        for key in keys:
            self._make_due(key)

    def _deliver(self, key: Key, status: Status | None, as_of: float) -> None:
        state = self._keys.get(key)
        if state is None:
            return
        if status is None:
            # The user was deleted for good: nothing more will come.
            for feed in state.feeds:
                feed.close()
            return
        for feed in state.feeds:
            feed.offer(status, as_of)
        self._track_period(state, status)

    # -- period ends ------------------------------------------------------------------------------

    def _track_period(self, state: _KeyState, status: Status) -> None:
        previous, state.period_end = state.period_end, status.period_end
        if state.period_end is not None and (previous is None or state.period_end < previous):
            self._wake_timer.set()

    async def _timer_loop(self) -> None:
        while True:
            ends = [s.period_end for s in self._keys.values() if s.period_end is not None]
            await self.clock.sleep_until(min(ends, default=None), self._wake_timer)
            self._wake_timer.clear()
            now = self.clock.now()
            for key, state in list(self._keys.items()):
                if state.period_end is not None and state.period_end <= now:
                    # Cleared until the read brings the new period's end, so the loop does not spin.
                    state.period_end = None
                    self._make_due(key)
