"""Spend over time: a series of calendar-aligned UTC buckets, read from the daily rollup.

Buckets are periods (DAY, WEEK from Monday, MONTH), so their bounds come from ``limits.periods``;
every bucket is a whole number of UTC days, and the rollup (``chat_spend_daily``, one or more rows
per user, day and organization, always summed) answers them exactly. SQL sums per (key, day); the
days are put into buckets here, so the cost follows the number of days with spend in the range,
never the number of messages. Spend rules are the status's: costs of messages in chats the user
owns, deleted messages and archived and sub-agent chats included, unpriced (NULL) costs not.

Three subjects, one statement per batch of keys each (the GraphQL layer batches with DataLoaders):
a user (optionally only chats of one organization), an organization (every chat in it), a group
(its current members, deleted and system users left out, in chats of the group's organization).
"""

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from spendlimits.limits.periods import Period, PeriodOutOfRange, period_bounds
from spendlimits.limits.spend import rollup_day

#: More buckets than this in one series is refused (BAD_USER_INPUT in the API).
MAX_BUCKETS = 400


class Subject(enum.Enum):
    USER = "user"
    ORGANIZATION = "organization"
    GROUP = "group"


class RangeError(ValueError):
    """A range that cannot be answered: empty, reversed, too many buckets or out of range."""


@dataclass(frozen=True, slots=True)
class Point:
    start: datetime
    end: datetime
    spend_micros: int


@dataclass(frozen=True, slots=True)
class Series:
    bucket: Period
    points: tuple[Point, ...]

    @property
    def total_micros(self) -> int:
        return sum(p.spend_micros for p in self.points)


@dataclass(frozen=True, slots=True)
class HistoryKey:
    """What one series is of: a subject, the buckets' bounds, and for a user an optional scope."""

    subject: Subject
    subject_id: uuid.UUID
    bucket: Period
    #: The buckets' bounds, oldest first: [(start, end), ...], contiguous.
    bounds: tuple[tuple[datetime, datetime], ...]
    #: USER only: only chats of this organization.
    organization_id: uuid.UUID | None = None


def bucket_bounds(bucket: Period, start: datetime, end: datetime) -> tuple[tuple[datetime, datetime], ...]:
    """Every bucket that overlaps [start, end), oldest first: the range rounded outward."""
    if start.tzinfo is None or end.tzinfo is None:
        raise RangeError("from and to must carry a time zone.")
    if end <= start:
        raise RangeError("to must be after from.")
    bounds: list[tuple[datetime, datetime]] = []
    try:
        cursor = period_bounds(bucket, start)[0]
        while cursor < end:
            if len(bounds) == MAX_BUCKETS:
                raise RangeError(
                    f"The range spans more than {MAX_BUCKETS} buckets; use a wider bucket or a shorter range."
                )
            bucket_end = period_bounds(bucket, cursor)[1]
            bounds.append((cursor, bucket_end))
            cursor = bucket_end
    except PeriodOutOfRange as exc:
        raise RangeError(f"{exc}.") from None
    return tuple(bounds)


def history_key(
    subject: Subject,
    subject_id: uuid.UUID,
    start: datetime,
    end: datetime,
    bucket: Period = Period.DAY,
    organization_id: uuid.UUID | None = None,
) -> HistoryKey:
    """A key for ``histories``; raises RangeError for a range the API refuses."""
    return HistoryKey(subject, subject_id, bucket, bucket_bounds(bucket, start, end), organization_id)


# Each statement reads ``keys(idx, subject_id, organization_id, first_day, end_day)`` and returns
# (idx, day, spend_micros) for the days with spend. Summed, because the rollup may hold several
# rows per user, day and organization.
_KEYS = """
WITH keys AS (
    SELECT k.idx, k.subject_id, k.organization_id, k.first_day, k.end_day
    FROM unnest(CAST(:subject_ids AS uuid[]), CAST(:organization_ids AS uuid[]),
                CAST(:first_days AS date[]), CAST(:end_days AS date[]))
         WITH ORDINALITY AS k(subject_id, organization_id, first_day, end_day, idx)
)"""

_STATEMENTS = {
    Subject.USER: text(
        f"""{_KEYS}
        SELECT k.idx, d.day, sum(d.spend_micros)::bigint AS spend_micros
        FROM keys k
        JOIN chat_spend_daily d
          ON d.user_id = k.subject_id AND d.day >= k.first_day AND d.day < k.end_day
         AND (k.organization_id IS NULL OR d.organization_id = k.organization_id)
        GROUP BY k.idx, d.day
        """
    ),
    Subject.ORGANIZATION: text(
        f"""{_KEYS}
        SELECT k.idx, d.day, sum(d.spend_micros)::bigint AS spend_micros
        FROM keys k
        JOIN chat_spend_daily d
          ON d.organization_id = k.subject_id AND d.day >= k.first_day AND d.day < k.end_day
        GROUP BY k.idx, d.day
        """
    ),
    Subject.GROUP: text(
        f"""{_KEYS}
        SELECT k.idx, d.day, sum(d.spend_micros)::bigint AS spend_micros
        FROM keys k
        JOIN group_members_expanded m ON m.group_id = k.subject_id
        JOIN users u ON u.id = m.user_id AND NOT u.is_system
        JOIN chat_spend_daily d
          ON d.user_id = m.user_id AND d.organization_id = m.organization_id
         AND d.day >= k.first_day AND d.day < k.end_day
        GROUP BY k.idx, d.day
        """
    ),
}


def _series(key: HistoryKey, by_day: dict[date, int]) -> Series:
    points = []
    for start, end in key.bounds:
        first, stop = rollup_day(start), rollup_day(end)
        total = 0
        day = first
        while day < stop:
            total += by_day.get(day, 0)
            day += timedelta(days=1)
        points.append(Point(start.astimezone(UTC), end.astimezone(UTC), total))
    return Series(key.bucket, tuple(points))


async def histories(conn: AsyncConnection, keys: Sequence[HistoryKey]) -> dict[HistoryKey, Series]:
    """The series of each key, one statement per subject kind present in the batch.

    Every key gets a series (zeros for an unknown subject): the GraphQL layer only asks about
    subjects it has loaded.
    """
    days: dict[int, dict[date, int]] = {i: {} for i in range(len(keys))}
    for subject, statement in _STATEMENTS.items():
        positions = [i for i, k in enumerate(keys) if k.subject is subject]
        if not positions:
            continue
        params: dict[str, Any] = {
            "subject_ids": [keys[i].subject_id for i in positions],
            "organization_ids": [keys[i].organization_id for i in positions],
            "first_days": [rollup_day(keys[i].bounds[0][0]) for i in positions],
            "end_days": [rollup_day(keys[i].bounds[-1][1]) for i in positions],
        }
        for row in await conn.execute(statement, params):
            days[positions[row.idx - 1]][row.day] = row.spend_micros
    return {key: _series(key, days[i]) for i, key in enumerate(keys)}


async def history(conn: AsyncConnection, key: HistoryKey) -> Series:
    """The series of one key."""
    return (await histories(conn, [key]))[key]
