"""The admission check's statements, sent on the asyncpg connection beneath SQLAlchemy's.

SQLAlchemy's ``execute`` costs about 250-350 µs of CPU per statement here (result metadata built
for every run of a ``text()`` statement, greenlet switches, events): more than asyncpg takes to
send the statement and read its answer. Every admission check runs two statements (its token,
then the status), so those two skip it; measured at 16 concurrent checks: -19% server CPU per
check, +33% checks/s (BENCHMARKS.md). Everything else keeps SQLAlchemy, which earns its place there.

Only on autocommit connections: on the others SQLAlchemy opens its transaction at the first
statement, and a statement sent past it would run outside the transaction its caller expects.
When the driver raises, the statement is sent again through SQLAlchemy, so failures look exactly
as they did (DBAPIError, a dropped connection invalidated in the pool, fail-open decisions): the
fast path only ever adds successes. A second try is harmless on an autocommit connection, where a
failed statement changed nothing, for reads. A decision that writes (a reserve) passes
``resend_on_error=False``: its failure is final and reported as it is, so a statement never runs
twice against one answer, and never past the deadline it was sent with.
"""

import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy import TextClause
from sqlalchemy.ext.asyncio import AsyncConnection

from spendlimits import metrics


class Row(Protocol):
    """A result row read by column name: an asyncpg Record, or SQLAlchemy's RowMapping."""

    def __getitem__(self, key: str, /) -> Any: ...


class HotStatement:
    """A ``text()`` statement that can run on the driver connection; compiled at its first use."""

    def __init__(self, statement: TextClause) -> None:
        self.statement = statement
        self._compiled: tuple[str, tuple[str, ...]] | None = None

    async def fetch(
        self, conn: AsyncConnection, params: Mapping[str, Any], *, resend_on_error: bool = True
    ) -> Sequence[Row]:
        raw = await conn.get_raw_connection()
        driver = raw.driver_connection
        if driver is not None and getattr(raw.dbapi_connection, "autocommit", False) is True:
            if self._compiled is None:
                compiled = self.statement.compile(dialect=conn.dialect)
                self._compiled = (compiled.string, tuple(compiled.positiontup or ()))
            sql, names = self._compiled
            started = time.perf_counter()
            try:
                rows: Sequence[Row] = await driver.fetch(sql, *(params[n] for n in names))
            except Exception:
                if not resend_on_error:
                    raise
                # Sent again below, where the failure is reported as usual.
            else:
                metrics.record_statement(time.perf_counter() - started)
                return rows
        return [row._mapping for row in await conn.execute(self.statement, params)]
