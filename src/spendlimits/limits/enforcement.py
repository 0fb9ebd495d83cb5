"""What a decision does when it cannot be evaluated: FAIL_OPEN (Coder's, the default) or FAIL_CLOSED.

The mode is stored in the configuration row, but the moment it is needed is exactly the moment the
database cannot answer. So every successful read of it (each check's status, the configuration,
an update) is remembered in the process, per database, and a failed decision uses the last mode
seen. A process that has never read it falls back to FAIL_OPEN, the documented default.
"""

import enum

from sqlalchemy.ext.asyncio import AsyncEngine


class EnforcementMode(enum.Enum):
    """Values are as stored in ``chat_usage_limit_config.enforcement_mode``."""

    FAIL_OPEN = "fail_open"
    FAIL_CLOSED = "fail_closed"


DEFAULT_MODE = EnforcementMode.FAIL_OPEN

# Keyed by the database URL (password masked), not by engine object: the GraphQL layer and the
# check may hold different engines on one database, and each must see the other's reads.
_last_seen: dict[str, EnforcementMode] = {}


def _key(engine: AsyncEngine) -> str:
    return engine.url.render_as_string(hide_password=True)


def remember_mode(engine: AsyncEngine, mode: EnforcementMode) -> None:
    """Records the mode just read from the database behind ``engine``."""
    _last_seen[_key(engine)] = mode


def last_known_mode(engine: AsyncEngine) -> EnforcementMode:
    """The mode to apply when the database cannot be asked."""
    return _last_seen.get(_key(engine), DEFAULT_MODE)
