"""The async SQLAlchemy engine, configured from Settings."""

import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from spendlimits.db.embedded import start_embedded
from spendlimits.settings import Settings

T = TypeVar("T")


def asyncpg_url(url: str) -> str:
    """Accept postgres://, postgresql:// or postgresql+asyncpg:// and return the asyncpg form."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "postgresql+asyncpg"):
        raise ValueError(f"not a PostgreSQL URL: scheme {parts.scheme!r}")
    # libpq spells the socket folder ?host=...; asyncpg understands the same query parameter.
    query = urlencode(parse_qsl(parts.query))
    return urlunsplit(("postgresql+asyncpg", parts.netloc, parts.path, query, parts.fragment))


def database_url(settings: Settings) -> str:
    """The URL to connect to: DATABASE_URL, or the embedded server started on demand."""
    return asyncpg_url(settings.database_url or start_embedded(settings.data_dir))


def create_engine(url: str, settings: Settings) -> AsyncEngine:
    if settings.db_pooler == "transaction":
        return _behind_transaction_pooler(url, settings)
    return create_async_engine(
        asyncpg_url(url),
        pool_size=settings.pool_size,
        max_overflow=settings.pool_max_overflow,
        pool_pre_ping=False,
        connect_args={
            "server_settings": {
                "statement_timeout": str(settings.statement_timeout_ms),
                "TimeZone": "UTC",
                "application_name": "spendlimits",
                # Every statement here is a small OLTP query. With a table's size unknown to the
                # planner (never analyzed), a batched status can cost out above jit_above_cost,
                # and compiling it took 1.4 s against 2 ms of execution: longer than the check's
                # timeout, so the check failed open.
                "jit": "off",
                # Plan each prepared statement once. Left to choose, PostgreSQL kept re-planning the
                # check's status statement (its generic plan is costed for 10 keys, the custom one
                # for 1): 1.1 ms of planning against 0.4 ms of execution, on every check.
                # Measured: PostgreSQL CPU per HTTP check 2.3 -> 0.9 ms, check latency 2-2.4x lower
                # at 10 and at 1M messages, the user list unchanged at 10k and 100k users
                # (BENCHMARKS.md).
                "plan_cache_mode": "force_generic_plan",
            },
            # A hung server must not hang connection attempts either.
            "timeout": max(settings.statement_timeout_ms / 1000, 1.0),
        },
    )


def _behind_transaction_pooler(url: str, settings: Settings) -> AsyncEngine:
    """The engine for a pooler in transaction mode (SPENDLIMITS_DB_POOLER=transaction).

    Successive transactions of one client connection may run on different server connections, so:
    no named prepared statements survive between them (asyncpg's statement cache and SQLAlchemy's
    are off; the statements SQLAlchemy prepares get names that never collide, and the driver path
    uses the unnamed statement, parsed and run before the pooler may switch servers); and session
    settings cannot be sent at connect, since PgBouncer refuses unknown startup parameters: set
    statement_timeout, jit = off and plan_cache_mode = force_generic_plan on the database or role
    (ALTER DATABASE ... SET), as docs/reservations.md says. Decisions need nothing else: each is one
    statement in autocommit, and the user's lock is a transaction lock.
    """
    return create_async_engine(
        asyncpg_url(url),
        pool_size=settings.pool_size,
        max_overflow=settings.pool_max_overflow,
        pool_pre_ping=False,
        connect_args={
            "statement_cache_size": 0,
            "prepared_statement_cache_size": 0,
            "prepared_statement_name_func": lambda: f"__spendlimits_{uuid.uuid4()}__",
            "server_settings": {"TimeZone": "UTC", "application_name": "spendlimits"},
            "timeout": max(settings.statement_timeout_ms / 1000, 1.0),
        },
    )


async def run_reconnecting(engine: AsyncEngine, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """``work`` in a transaction, run once more on a fresh connection if the server had closed the
    pooled one (PostgreSQL restarted while the connection sat idle in the pool).

    The pool is not pre-pinged, which would cost a round trip per checkout on the hot path, so the
    first use of a stale connection fails. SQLAlchemy then discards every connection older than
    the failure; the retry, and every later checkout, gets a new one. Without it the first request
    after a database restart failed (a 503 from /healthz or for a token).
    """
    try:
        async with engine.begin() as conn:
            return await work(conn)
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
    async with engine.begin() as conn:
        return await work(conn)
