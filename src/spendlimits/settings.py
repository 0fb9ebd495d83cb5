"""Every setting of the service, read once from the environment.

docs/configuration.md lists the same names; keep the two in step (tests/test_docs.py checks it).
"""

import os
from dataclasses import dataclass, field
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


def cors_origins(raw: str) -> tuple[str, ...]:
    """Comma-separated origins, each scheme://host[:port] exactly as a browser sends it, or "*"."""
    origins = tuple(o.strip() for o in raw.split(",") if o.strip())
    for origin in origins:
        scheme, _, rest = origin.partition("://")
        if origin != "*" and (scheme not in ("http", "https") or not rest or "/" in rest):
            raise SettingsError(
                "SPENDLIMITS_CORS_ORIGINS must list origins like https://app.example.com "
                f"(scheme, host and port; no path), got {origin!r}"
            )
    return origins


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
    #: Documents whose estimated nodes exceed this are refused before they run (graphql/cost.py).
    max_query_cost: int
    #: A request running longer than this stops with QUERY_TIMEOUT (graphql/budget.py); 0 = no limit.
    request_timeout_ms: int
    #: A response larger than this is replaced by RESPONSE_TOO_LARGE (graphql/budget.py).
    max_response_bytes: int
    #: Worker processes of the decision listener (decision_port.py); 0 = none, one listener for all.
    decision_workers: int
    #: Its port; 0 = the main port + 1.
    decision_port: int
    #: The cost limit on the decision listener: its documents are checks and records, never pages.
    decision_max_query_cost: int
    #: How much lower the main listener's CPU priority is than the decision listener's (nice).
    read_niceness: int
    log_level: str
    #: "text" (key=value lines) or "json" (one JSON object per line).
    log_format: str
    #: Browser origins allowed to call the API (CORS); empty allows none, "*" any.
    cors_origins: tuple[str, ...]
    #: Whether browsers may send cookies along (never with "*"; bearer tokens do not need it).
    cors_allow_credentials: bool

    #: "none" or "transaction": DATABASE_URL points at a pooler in transaction mode (PgBouncer).
    db_pooler: str = "none"
    #: Live status over WebSocket (docs/live-status.md).
    live: "LiveSettings" = field(default_factory=lambda: LiveSettings())
    #: Run only documents registered in static/trusted-documents.json (docs/hot-paths.md).
    trusted_documents_only: bool = False
    #: How often the server folds unfolded spend into the rollup (docs/spend-journal.md); 0 = never.
    fold_interval_ms: int = 200

    def __post_init__(self) -> None:
        # A wildcard with credentials would let any site act with a signed-in browser's cookies.
        if self.cors_allow_credentials and "*" in self.cors_origins:
            raise SettingsError(
                'SPENDLIMITS_CORS_ALLOW_CREDENTIALS=true cannot go with SPENDLIMITS_CORS_ORIGINS="*": '
                "list the origins"
            )

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
            max_query_cost=_int("SPENDLIMITS_MAX_QUERY_COST", 10_000, minimum=1),
            request_timeout_ms=_int("SPENDLIMITS_REQUEST_TIMEOUT_MS", 10_000),
            max_response_bytes=_int("SPENDLIMITS_MAX_RESPONSE_BYTES", 5_000_000, minimum=1024),
            decision_workers=_int("SPENDLIMITS_DECISION_WORKERS", 0),
            decision_port=_int("SPENDLIMITS_DECISION_PORT", 0),
            decision_max_query_cost=_int("SPENDLIMITS_DECISION_MAX_QUERY_COST", 100, minimum=1),
            read_niceness=_int("SPENDLIMITS_READ_NICENESS", 19),
            log_level=(os.environ.get("SPENDLIMITS_LOG_LEVEL") or "INFO").upper(),
            log_format=_choice("SPENDLIMITS_LOG_FORMAT", "text", ("text", "json")),
            trusted_documents_only=_choice("SPENDLIMITS_TRUSTED_DOCUMENTS_ONLY", "false", ("true", "false"))
            == "true",
            db_pooler=_choice("SPENDLIMITS_DB_POOLER", "none", ("none", "transaction")),
            cors_origins=cors_origins(os.environ.get("SPENDLIMITS_CORS_ORIGINS", "")),
            cors_allow_credentials=_choice("SPENDLIMITS_CORS_ALLOW_CREDENTIALS", "false", ("true", "false"))
            == "true",
            live=LiveSettings.from_env(),
            fold_interval_ms=_int("SPENDLIMITS_FOLD_INTERVAL_MS", 200),
        )


@dataclass(frozen=True, slots=True)
class LiveSettings:
    """The live status subscription's bounds and timers (docs/live-status.md)."""

    max_subscriptions_per_connection: int = 10
    #: Per token and per server process.
    max_connections_per_token: int = 20
    #: How often open connections' tokens are checked again: a revoked token ends within this.
    reverify_ms: int = 30_000
    #: A graphql-transport-ws ping this often; no pong by the next one closes the connection.
    ping_ms: int = 20_000
    #: Events for one user are at least this far apart (later changes are coalesced into one).
    min_interval_ms: int = 250
    #: Where the LISTEN connection goes: directly to PostgreSQL or through a session-mode pooler.
    #: None: DATABASE_URL, unless that is a transaction-mode pooler, which cannot deliver
    #: notifications (then no listener runs; see docs/live-status.md).
    database_url: str | None = None

    @classmethod
    def from_env(cls) -> "LiveSettings":
        return cls(
            max_subscriptions_per_connection=_int("SPENDLIMITS_LIVE_MAX_SUBSCRIPTIONS", 10, minimum=1),
            max_connections_per_token=_int("SPENDLIMITS_LIVE_MAX_CONNECTIONS_PER_TOKEN", 20, minimum=1),
            reverify_ms=_int("SPENDLIMITS_LIVE_REVERIFY_MS", 30_000, minimum=100),
            ping_ms=_int("SPENDLIMITS_LIVE_PING_MS", 20_000, minimum=100),
            min_interval_ms=_int("SPENDLIMITS_LIVE_MIN_INTERVAL_MS", 250),
            database_url=os.environ.get("SPENDLIMITS_LIVE_DATABASE_URL") or None,
        )
