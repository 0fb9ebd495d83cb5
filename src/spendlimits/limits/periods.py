"""Limit periods and their bounds: the only place that does period arithmetic (spec section 1).

Periods are calendar-aligned in UTC, start inclusive, end exclusive, so every period is a whole
number of UTC days; the spend rollup relies on that.
"""

import enum
from datetime import UTC, datetime, timedelta


class Period(enum.Enum):
    """Values are as stored in ``chat_usage_limit_config.period``."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class PeriodOutOfRange(ValueError):
    """An instant whose period cannot be represented (its end lies past the year 9999)."""


def period_bounds(period: Period, at: datetime) -> tuple[datetime, datetime]:
    """The period containing ``at``: (start, end) in UTC, start inclusive, end exclusive.

    ``at`` must carry a time zone; it is converted to UTC first, so 22:00 in New York on the 15th
    falls in the UTC day of the 16th.
    """
    if at.tzinfo is None:
        raise ValueError("at must carry a time zone")
    try:
        utc = at.astimezone(UTC)
        day = datetime(utc.year, utc.month, utc.day, tzinfo=UTC)
        if period is Period.DAY:
            return day, day + timedelta(days=1)
        if period is Period.WEEK:
            monday = day - timedelta(days=day.weekday())
            return monday, monday + timedelta(days=7)
        first = day.replace(day=1)
        if first.month == 12:
            return first, first.replace(year=first.year + 1, month=1)
        return first, first.replace(month=first.month + 1)
    except (OverflowError, ValueError):
        raise PeriodOutOfRange(f"{at.isoformat()} is outside the supported range of periods") from None


def all_period_bounds(at: datetime) -> dict[Period, tuple[datetime, datetime]]:
    """The bounds of every period containing ``at``.

    Lets one SQL statement pick the period from the stored configuration it reads, without a round
    trip to learn the period first.
    """
    return {period: period_bounds(period, at) for period in Period}
