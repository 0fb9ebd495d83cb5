"""Bounded waits on the database: an answer in time, or a clear "cannot evaluate".

The admission check, reservations, token verification and /healthz must answer within a deadline
even when the database hangs; they share this one mechanism.
"""

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import asyncpg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

T = TypeVar("T")

#: What "the check cannot be evaluated" looks like: the database refused, broke or is unreachable.
#: The driver's own errors are here for statements sent on the driver with no second try (a reserve).
CANNOT_EVALUATE = (DBAPIError, PoolTimeout, OSError, asyncpg.PostgresError, asyncpg.InterfaceError)


class CannotEvaluate(Exception):
    """The database did not answer in time, or answered with an error; ``cause`` says which."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


# Work abandoned at the deadline keeps running until its cancellation lands; holding it here
# keeps it from being garbage-collected mid-flight.
_abandoned: set[asyncio.Task[Any]] = set()


def _cause(exc: BaseException) -> str:
    # The driver's own error, not SQLAlchemy's wrapper, which appends the whole statement.
    original = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    return f"{type(original).__name__}: {original}"


def _settle(task: asyncio.Task[Any]) -> None:
    _abandoned.discard(task)
    # Retrieving the outcome keeps asyncio from reporting it as never retrieved; the failure was
    # already logged when the decision failed open or closed.
    if not task.cancelled():
        task.exception()


def _undo_when_late(undo: Callable[[T], Coroutine[Any, Any, None]], task: asyncio.Task[T]) -> None:
    if task.cancelled() or task.exception() is not None:
        return
    compensation = asyncio.get_running_loop().create_task(undo(task.result()))
    _abandoned.add(compensation)
    compensation.add_done_callback(_settle)


async def within_deadline(
    work: Coroutine[Any, Any, T],
    timeout_seconds: float,
    *,
    undo_late: Callable[[T], Coroutine[Any, Any, None]] | None = None,
) -> T:
    """``work``'s result, or CannotEvaluate when the database errs or does not answer in time.

    The work runs as its own task and is abandoned (cancelled, not awaited) at the deadline:
    awaiting a cancelled query against a hung server could itself hang, and the answer must come
    in bounded time. Exceptions other than database failures (NotFound, DomainError) propagate.

    With ``undo_late`` (work that writes, and whose statement the database itself ends by the same
    deadline), the work is not cancelled but left to finish; should it still succeed, its result
    is handed to ``undo_late``. A write can commit just before its deadline while its answer is
    still on the way (a loaded server reads it late): the caller has already said "nothing done",
    and ``undo_late`` makes that true again.
    """
    if timeout_seconds <= 0:
        # The budget is already spent (token verification took it all): answer now, without a
        # task that could only be abandoned, one more turn of a busy event loop later.
        work.close()
        raise CannotEvaluate("no time left in the request's budget")
    task = asyncio.create_task(work)
    try:
        done, _ = await asyncio.wait({task}, timeout=timeout_seconds)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if not done:
        if undo_late is None:
            task.cancel()
        else:
            task.add_done_callback(functools.partial(_undo_when_late, undo_late))
        _abandoned.add(task)
        task.add_done_callback(_settle)
        raise CannotEvaluate(f"no answer from the database within {round(timeout_seconds * 1000)} ms")
    try:
        return task.result()
    except CANNOT_EVALUATE as exc:
        raise CannotEvaluate(_cause(exc)) from exc
