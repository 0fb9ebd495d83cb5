"""The time the hub reads statuses at and waits for period ends with; tests inject their own."""

import asyncio
from datetime import UTC, datetime
from typing import Protocol

#: A wall-clock jump (NTP, a suspended host) is noticed within this long.
_LONGEST_NAP = 60.0


class Clock(Protocol):
    def now(self) -> datetime: ...

    async def sleep_until(self, when: datetime | None, wake: asyncio.Event) -> None:
        """Returns at ``when`` (never before), or sooner once ``wake`` is set; ``None`` is never."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep_until(self, when: datetime | None, wake: asyncio.Event) -> None:
        while not wake.is_set():
            if when is None:
                await wake.wait()
                return
            left = (when - self.now()).total_seconds()
            if left <= 0:
                return
            try:
                await asyncio.wait_for(wake.wait(), timeout=min(left, _LONGEST_NAP))
            except TimeoutError:
                continue
