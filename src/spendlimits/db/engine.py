"""The async SQLAlchemy engine, configured from Settings."""

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from spendlimits.db.embedded import start_embedded
from spendlimits.settings import Settings


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
            },
            # A hung server must not hang connection attempts either.
            "timeout": max(settings.statement_timeout_ms / 1000, 1.0),
        },
    )
