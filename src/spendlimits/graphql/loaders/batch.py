"""Helpers that turn a domain batch query into a DataLoader load function."""

from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

BatchQuery = Callable[[AsyncConnection, list[K]], Awaitable[dict[K, V]]]


def by_id(engine: AsyncEngine, query: BatchQuery[K, V]) -> Callable[[Sequence[K]], Awaitable[list[V | None]]]:
    """A load function: one statement for the whole batch, keys with no row load as None."""

    async def load(keys: Sequence[K]) -> list[V | None]:
        async with engine.connect() as conn:
            found = await query(conn, list(keys))
        return [found.get(key) for key in keys]

    return load
