"""Helpers that turn a domain batch query into a DataLoader load function."""

from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

BatchQuery = Callable[[AsyncConnection, list[K]], Awaitable[dict[K, V]]]


async def _read(engine: AsyncEngine, query: BatchQuery[K, V], keys: Sequence[K]) -> dict[K, V]:
    async with engine.connect() as conn:
        # Reads need no transaction: autocommit saves a BEGIN and a ROLLBACK round trip per batch
        # (6 of the 12 round trips of users(first: 100) with limits and status), and lets the
        # status statement take the driver path (spendlimits.db.driver).
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        return await query(conn, list(keys))


def by_id(engine: AsyncEngine, query: BatchQuery[K, V]) -> Callable[[Sequence[K]], Awaitable[list[V | None]]]:
    """A load function: one statement for the whole batch, keys with no row load as None."""

    async def load(keys: Sequence[K]) -> list[V | None]:
        found = await _read(engine, query, keys)
        return [found.get(key) for key in keys]

    return load


def or_empty(
    engine: AsyncEngine, query: BatchQuery[K, V], empty: Callable[[], V]
) -> Callable[[Sequence[K]], Awaitable[list[V]]]:
    """Like ``by_id``, for queries that leave out keys with nothing to report: those load as
    ``empty()`` (``list`` gives each its own empty list, ``int`` gives 0)."""

    async def load(keys: Sequence[K]) -> list[V]:
        found = await _read(engine, query, keys)
        return [found[key] if key in found else empty() for key in keys]

    return load


def required(value: V | None, what: str) -> V:
    """A row a foreign key guarantees. Its absence is a bug, so it surfaces as an unexpected error."""
    if value is None:
        raise LookupError(f"missing {what}, which a foreign key guarantees")
    return value
