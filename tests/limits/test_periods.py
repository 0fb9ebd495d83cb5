"""Period bounds: calendar-aligned UTC, start inclusive, end exclusive (spec sections 1 and 11)."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from spendlimits.limits.periods import Period, PeriodOutOfRange, all_period_bounds, period_bounds


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@pytest.mark.parametrize(
    ("period", "at", "start", "end"),
    [
        (Period.DAY, utc(2025, 6, 15, 14, 30), utc(2025, 6, 15), utc(2025, 6, 16)),
        (Period.DAY, utc(2025, 6, 15, 0, 0), utc(2025, 6, 15), utc(2025, 6, 16)),
        (Period.DAY, utc(2025, 6, 15, 23, 59, 59), utc(2025, 6, 15), utc(2025, 6, 16)),
        (Period.WEEK, utc(2025, 6, 11, 12, 0), utc(2025, 6, 9), utc(2025, 6, 16)),
        (Period.WEEK, utc(2025, 6, 9, 0, 0), utc(2025, 6, 9), utc(2025, 6, 16)),
        (Period.WEEK, utc(2025, 6, 15, 23, 0), utc(2025, 6, 9), utc(2025, 6, 16)),
        (Period.WEEK, utc(2024, 12, 31, 12, 0), utc(2024, 12, 30), utc(2025, 1, 6)),
        (Period.MONTH, utc(2025, 6, 15, 12, 0), utc(2025, 6, 1), utc(2025, 7, 1)),
        (Period.MONTH, utc(2025, 6, 1, 0, 0), utc(2025, 6, 1), utc(2025, 7, 1)),
        (Period.MONTH, utc(2025, 6, 30, 23, 59, 59), utc(2025, 6, 1), utc(2025, 7, 1)),
        (Period.MONTH, utc(2025, 2, 15), utc(2025, 2, 1), utc(2025, 3, 1)),
        (Period.MONTH, utc(2024, 2, 29), utc(2024, 2, 1), utc(2024, 3, 1)),
        (Period.MONTH, utc(2024, 12, 31, 23, 0), utc(2024, 12, 1), utc(2025, 1, 1)),
    ],
)
def test_period_bounds_follow_the_utc_calendar(
    period: Period, at: datetime, start: datetime, end: datetime
) -> None:
    assert period_bounds(period, at) == (start, end)


def test_an_instant_in_another_zone_falls_in_its_utc_day() -> None:
    new_york_evening = datetime(2025, 6, 15, 22, 0, tzinfo=ZoneInfo("America/New_York"))
    assert period_bounds(Period.DAY, new_york_evening) == (utc(2025, 6, 16), utc(2025, 6, 17))


def test_the_end_of_one_period_is_the_start_of_the_next() -> None:
    for period in Period:
        start, end = period_bounds(period, utc(2025, 6, 15, 14, 30))
        assert period_bounds(period, end)[0] == end
        assert period_bounds(period, start)[0] == start


def test_bounds_are_returned_in_utc() -> None:
    start, end = period_bounds(Period.DAY, datetime(2025, 6, 15, 22, 0, tzinfo=ZoneInfo("Europe/Paris")))
    assert start.utcoffset() == end.utcoffset() == UTC.utcoffset(None)


def test_a_naive_instant_is_refused_rather_than_guessed() -> None:
    with pytest.raises(ValueError, match="time zone"):
        period_bounds(Period.DAY, datetime(2025, 6, 15, 12, 0))


def test_an_instant_whose_period_ends_after_year_9999_is_out_of_range() -> None:
    with pytest.raises(PeriodOutOfRange):
        all_period_bounds(utc(9999, 12, 31, 12, 0))


def test_all_period_bounds_gives_each_period() -> None:
    at = utc(2025, 6, 11, 8, 0)
    assert all_period_bounds(at) == {p: period_bounds(p, at) for p in Period}
