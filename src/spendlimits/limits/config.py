"""The deployment-wide limit configuration: one row, seeded disabled (spec sections 2 and 6)."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection

from spendlimits.errors import DomainError
from spendlimits.limits.enforcement import EnforcementMode, remember_mode
from spendlimits.limits.periods import Period

INVALID_SPEND_LIMIT_MESSAGE = "Spend limit must be greater than 0."
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


_COLUMNS = "enabled, default_limit_micros, period, updated_at, enforcement_mode, reservation_ttl_seconds"


def _config(row: Row[Any]) -> LimitConfig:
    return LimitConfig(
        enabled=row.enabled,
        default_limit_micros=row.default_limit_micros,
        period=Period(row.period),
        updated_at=row.updated_at,
        enforcement_mode=EnforcementMode(row.enforcement_mode),
        reservation_ttl_seconds=row.reservation_ttl_seconds,
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


async def update_config(
    conn: AsyncConnection,
    *,
    spend_limit_micros: int | None,
    period: Period | None,
    enforcement_mode: EnforcementMode | None = None,
    reservation_ttl_seconds: int | None = None,
) -> LimitConfig:
    """No limit switches limits off (period defaults to MONTH); a limit must be > 0 and needs a period.

    The enforcement mode and reservation TTL are kept when not given.
    """
    if reservation_ttl_seconds is not None:
        check_reservation_ttl(reservation_ttl_seconds, ["input", "reservationTtlSeconds"])
    if spend_limit_micros is None:
        enabled, default_limit, stored_period = False, 0, period or Period.MONTH
    else:
        default_limit = check_spend_limit(spend_limit_micros, ["input", "spendLimitMicros"])
        if period is None:
            raise DomainError(
                "INVALID_PERIOD", "Period is required when setting a spend limit.", ["input", "period"]
            )
        enabled, stored_period = True, period
    row = (
        await conn.execute(
            text(
                f"""
                UPDATE chat_usage_limit_config
                SET enabled = :enabled, default_limit_micros = :limit, period = :period, updated_at = now(),
                    enforcement_mode = coalesce(:mode, enforcement_mode),
                    reservation_ttl_seconds = coalesce(:ttl, reservation_ttl_seconds)
                RETURNING {_COLUMNS}
                """
            ),
            {
                "enabled": enabled,
                "limit": default_limit,
                "period": stored_period.value,
                "mode": enforcement_mode.value if enforcement_mode else None,
                "ttl": reservation_ttl_seconds,
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
