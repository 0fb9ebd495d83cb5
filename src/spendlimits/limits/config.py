"""The deployment-wide limit configuration: one row, seeded disabled (spec sections 2 and 6)."""

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection

from spendlimits.errors import DomainError
from spendlimits.limits.enforcement import EnforcementMode, remember_mode
from spendlimits.limits.periods import Period

INVALID_SPEND_LIMIT_MESSAGE = "Spend limit must be greater than 0."
#: The bounds the database's CHECK on warning_thresholds_percent enforces (valid_warning_thresholds).
MIN_WARNING_PERCENT, MAX_WARNING_PERCENT, MAX_WARNING_THRESHOLDS = 1, 99, 5


class Unchanged(enum.Enum):
    """An update's "not mentioned": the stored value stays. Distinct from None, which for the
    spend limit means "switch limits off"."""

    UNCHANGED = "unchanged"


UNCHANGED = Unchanged.UNCHANGED
#: The bounds the database's CHECK on reservation_ttl_seconds enforces.
MIN_RESERVATION_TTL_SECONDS, MAX_RESERVATION_TTL_SECONDS = 1, 86_400


@dataclass(frozen=True, slots=True)
class LimitConfig:
    #: Off is the master switch: every user is unlimited, overrides included.
    enabled: bool
    #: The default limit per user per period; meaningless (and 0) while disabled.
    default_limit_micros: int
    period: Period
    updated_at: datetime
    #: What a check or reserve does when it cannot be evaluated (docs/design.md).
    enforcement_mode: EnforcementMode
    #: How long a reservation holds budget when it is neither settled nor released.
    reservation_ttl_seconds: int
    #: Shares of the limit in percent, ascending, at which a frontend warns.
    warning_thresholds_percent: tuple[int, ...] = (75, 90)


_COLUMNS = (
    "enabled, default_limit_micros, period, updated_at, enforcement_mode, reservation_ttl_seconds, "
    "warning_thresholds_percent"
)


def _config(row: Row[Any]) -> LimitConfig:
    return LimitConfig(
        enabled=row.enabled,
        default_limit_micros=row.default_limit_micros,
        period=Period(row.period),
        updated_at=row.updated_at,
        enforcement_mode=EnforcementMode(row.enforcement_mode),
        reservation_ttl_seconds=row.reservation_ttl_seconds,
        warning_thresholds_percent=tuple(row.warning_thresholds_percent),
    )


def check_spend_limit(spend_limit_micros: int | None, field: list[str]) -> int:
    """A limit someone wants to set: present and positive, else INVALID_SPEND_LIMIT."""
    if spend_limit_micros is None or spend_limit_micros <= 0:
        raise DomainError("INVALID_SPEND_LIMIT", INVALID_SPEND_LIMIT_MESSAGE, field)
    return spend_limit_micros


def check_reservation_ttl(seconds: int, field: list[str]) -> int:
    """A reservation lifetime someone asks for: within the bounds, else INVALID_INPUT."""
    if not MIN_RESERVATION_TTL_SECONDS <= seconds <= MAX_RESERVATION_TTL_SECONDS:
        raise DomainError(
            "INVALID_INPUT",
            f"Reservation TTL must be {MIN_RESERVATION_TTL_SECONDS} to {MAX_RESERVATION_TTL_SECONDS} seconds.",
            field,
        )
    return seconds


async def get_config(conn: AsyncConnection) -> LimitConfig:
    row = (await conn.execute(text(f"SELECT {_COLUMNS} FROM chat_usage_limit_config"))).one()
    found = _config(row)
    remember_mode(conn.engine, found.enforcement_mode)
    return found


def check_warning_thresholds(thresholds: Sequence[int], field: list[str]) -> tuple[int, ...]:
    """Warning thresholds someone wants to set: 1-99 each, at most 5, no duplicates; stored ascending."""
    if len(thresholds) > MAX_WARNING_THRESHOLDS:
        raise DomainError("INVALID_INPUT", f"At most {MAX_WARNING_THRESHOLDS} warning thresholds.", field)
    if any(not MIN_WARNING_PERCENT <= t <= MAX_WARNING_PERCENT for t in thresholds):
        raise DomainError(
            "INVALID_INPUT",
            f"Warning thresholds must be {MIN_WARNING_PERCENT} to {MAX_WARNING_PERCENT} percent.",
            field,
        )
    if len(set(thresholds)) != len(thresholds):
        raise DomainError("INVALID_INPUT", "Warning thresholds must not repeat.", field)
    return tuple(sorted(thresholds))


def warning_threshold(thresholds: Sequence[int], spend_micros: int, limit_micros: int | None) -> int | None:
    """The highest threshold (percent) that spend has reached; None below the first or unlimited.

    Integer arithmetic, so 75% of a limit of 3 micros is reached at 3 (2.25 rounds up), never early.
    """
    if limit_micros is None or limit_micros <= 0:
        return None
    reached = [t for t in thresholds if spend_micros * 100 >= t * limit_micros]
    return max(reached, default=None)


async def update_config(
    conn: AsyncConnection,
    *,
    spend_limit_micros: int | Literal[Unchanged.UNCHANGED] | None = UNCHANGED,
    period: Period | None = None,
    enforcement_mode: EnforcementMode | None = None,
    reservation_ttl_seconds: int | None = None,
    warning_thresholds_percent: Sequence[int] | None = None,
) -> LimitConfig:
    """Changes what is given and keeps the rest (a behaviour change: an omitted limit used to
    switch limits off). For every field but the limit, None means "not given".

    ``spend_limit_micros=None`` switches limits off, keeping the stored period and default amount
    unless a period is given; a limit must be > 0 and needs a period in the same update
    (INVALID_PERIOD). Validation runs before anything is written.
    """
    if reservation_ttl_seconds is not None:
        check_reservation_ttl(reservation_ttl_seconds, ["input", "reservationTtlSeconds"])
    thresholds = None
    if warning_thresholds_percent is not None:
        field = ["input", "warningThresholdsPercent"]
        thresholds = list(check_warning_thresholds(warning_thresholds_percent, field))
    enabled: bool | None = None
    default_limit: int | None = None
    if spend_limit_micros is None:
        enabled = False
    elif spend_limit_micros is not UNCHANGED:
        default_limit = check_spend_limit(spend_limit_micros, ["input", "spendLimitMicros"])
        if period is None:
            raise DomainError(
                "INVALID_PERIOD", "Period is required when setting a spend limit.", ["input", "period"]
            )
        enabled = True
    row = (
        await conn.execute(
            text(
                f"""
                UPDATE chat_usage_limit_config
                SET enabled = coalesce(:enabled, enabled),
                    default_limit_micros = coalesce(:limit, default_limit_micros),
                    period = coalesce(:period, period),
                    enforcement_mode = coalesce(:mode, enforcement_mode),
                    reservation_ttl_seconds = coalesce(:ttl, reservation_ttl_seconds),
                    warning_thresholds_percent = coalesce(CAST(:thresholds AS integer[]), warning_thresholds_percent),
                    updated_at = now()
                RETURNING {_COLUMNS}
                """
            ),
            {
                "enabled": enabled,
                "limit": default_limit,
                "period": None if period is None else period.value,
                "mode": None if enforcement_mode is None else enforcement_mode.value,
                "ttl": reservation_ttl_seconds,
                "thresholds": thresholds,
            },
        )
    ).one()
    stored = _config(row)
    remember_mode(conn.engine, stored.enforcement_mode)
    return stored


async def unpriced_model_count(conn: AsyncConnection) -> int:
    """Enabled models with neither an input nor an output price: usage that no limit can see."""
    count = await conn.scalar(
        text(
            """
            SELECT count(*) FROM chat_models
            WHERE enabled AND input_price_micros IS NULL AND output_price_micros IS NULL
            """
        )
    )
    return int(count or 0)
