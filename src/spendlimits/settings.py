"""Every setting of the service, read once from the environment.

The README's configuration table lists the same names; keep the two in step.
"""

import os
from dataclasses import dataclass
from pathlib import Path


class SettingsError(ValueError):
    """A setting has a value the service cannot use."""


def _int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    return value


def _choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = (os.environ.get(name) or default).lower()
    if value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class Settings:
    #: External PostgreSQL; None starts the embedded server in ``data_dir``.
    database_url: str | None
    #: Where the embedded PostgreSQL keeps its files.
    data_dir: Path
    host: str
    port: int
    pool_size: int
    pool_max_overflow: int
    #: Upper bound for any one SQL statement; keeps a hung database from hanging requests.
    statement_timeout_ms: int
    #: Upper bound for a whole admission check before it fails open.
    check_timeout_ms: int
    #: Request bodies larger than this are refused with 413.
    max_body_bytes: int
    log_level: str
    #: "text" (key=value lines) or "json" (one JSON object per line).
    log_format: str
    #: Run only documents registered in static/trusted-documents.json (docs/hot-paths.md).
    trusted_documents_only: bool = False
    #: "none" or "transaction": DATABASE_URL points at a pooler in transaction mode (PgBouncer).
    db_pooler: str = "none"

    @classmethod
    def from_env(cls) -> "Settings":
        return cls(
            database_url=os.environ.get("DATABASE_URL") or None,
            data_dir=Path(os.environ.get("SPENDLIMITS_DATA_DIR") or ".pgdata").resolve(),
            host=os.environ.get("SPENDLIMITS_HOST") or "127.0.0.1",
            port=_int("SPENDLIMITS_PORT", 8000, minimum=1),
            # Up to 20 connections as before, all kept: with 10 kept and 10 overflow, 16 concurrent
            # checks closed and reopened 9 connections (PostgreSQL processes) a second, and p99
            # doubled (BENCHMARKS.md).
            pool_size=_int("SPENDLIMITS_DB_POOL_SIZE", 20, minimum=1),
            pool_max_overflow=_int("SPENDLIMITS_DB_POOL_MAX_OVERFLOW", 0),
            statement_timeout_ms=_int("SPENDLIMITS_STATEMENT_TIMEOUT_MS", 5000, minimum=1),
            check_timeout_ms=_int("SPENDLIMITS_CHECK_TIMEOUT_MS", 1000, minimum=1),
            max_body_bytes=_int("SPENDLIMITS_MAX_BODY_BYTES", 1_000_000, minimum=1024),
            log_level=(os.environ.get("SPENDLIMITS_LOG_LEVEL") or "INFO").upper(),
            log_format=_choice("SPENDLIMITS_LOG_FORMAT", "text", ("text", "json")),
            trusted_documents_only=_choice("SPENDLIMITS_TRUSTED_DOCUMENTS_ONLY", "false", ("true", "false"))
            == "true",
            db_pooler=_choice("SPENDLIMITS_DB_POOLER", "none", ("none", "transaction")),
        )
