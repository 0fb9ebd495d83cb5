"""Sessions that write to different rollup slots (pg_backend_pid() % SLOTS, migrations 000003 and 000011), so
tests and benchmarks spread one user's spend over several slot rows as concurrent writers do."""

import asyncpg

from spendlimits.insight.ranking import SLOTS


async def slot_sessions(
    url: str, count: int, *, command_timeout: float | None = None
) -> list[asyncpg.Connection]:
    """``count`` open sessions, each in a slot of its own (plain ``postgresql://`` URL)."""
    kept: dict[int, asyncpg.Connection] = {}
    spare: list[asyncpg.Connection] = []
    while len(kept) < count:
        conn = await asyncpg.connect(url, command_timeout=command_timeout)
        slot = await conn.fetchval("SELECT pg_backend_pid() % $1", SLOTS)
        if slot in kept:
            spare.append(conn)  # kept open until the end, so the next pid differs
        else:
            kept[slot] = conn
    for conn in spare:
        await conn.close()
    return list(kept.values())
