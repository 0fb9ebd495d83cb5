"""A user's limit status (spec section 5): effective limit, period and spend, in one statement.

Resolution, spend and the choice of period run as one SQL statement (half the latency of three
round trips, which matters on the admission check's hot path). Python computes the bounds of all
three periods for each instant; the statement picks the configured one as it reads the
configuration, so a changed period applies at the next check.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from spendlimits.db.driver import HotStatement
from spendlimits.limits.enforcement import EnforcementMode, remember_mode
from spendlimits.limits.holds import HELD_CTE
from spendlimits.limits.periods import all_period_bounds
from spendlimits.limits.resolution import (
    KEYS_CTE,
    RESOLVED_CTES,
    EffectiveLimit,
    LimitSource,
    key_params,
    limit_from_row,
)
from spendlimits.limits.spend import SPENT_CTE, rollup_day

#: (user id, organization id or None, instant or None for now).
StatusKey = tuple[uuid.UUID, uuid.UUID | None, datetime | None]


@dataclass(frozen=True, slots=True)
class Status:
    limit: EffectiveLimit
    #: Spend in the period; 0 when limits are disabled.
    spend_micros: int
    #: The period containing the instant asked about; None when limits are disabled.
    period_start: datetime | None
    period_end: datetime | None
    #: Live reservations (HELD, unexpired) in the period's scope; see ``holds``.
    held_micros: int = 0

    @property
    def is_limited(self) -> bool:
        return self.limit.source is not LimitSource.DISABLED

    @property
    def remaining_micros(self) -> int | None:
        if self.limit.limit_micros is None:
            return None
        return max(self.limit.limit_micros - self.spend_micros - self.held_micros, 0)

    @property
    def exceeded(self) -> bool:
        """Equality blocks: a limit of 100 is used up at a spend of 100."""
        return self.limit.limit_micros is not None and self.spend_micros >= self.limit.limit_micros


# The admission check runs it on every check: a HotStatement skips SQLAlchemy's per-statement work
# on the check's autocommit connection.
_STATUSES = HotStatement(
    text(
        f"""
    WITH {KEYS_CTE}, {RESOLVED_CTES},
    windows AS (
        SELECT w.idx, w.period, w.first_day, w.end_day
        FROM unnest(CAST(:window_keys AS bigint[]), CAST(:window_periods AS text[]),
                    CAST(:window_first_days AS date[]), CAST(:window_end_days AS date[]))
             AS w(idx, period, first_day, end_day)
    ),
    {SPENT_CTE},
    {HELD_CTE}
    SELECT r.idx, r.user_id, r.organization_id, r.source, r.limit_micros, r.group_id, r.period,
           coalesce(s.spend_micros, 0) AS spend_micros, coalesce(h.held_micros, 0) AS held_micros,
           -- Read along so that a check that later cannot be evaluated knows how to fail.
           (SELECT enforcement_mode FROM chat_usage_limit_config) AS enforcement_mode
    FROM resolved r
    LEFT JOIN spent s ON s.idx = r.idx
    LEFT JOIN held h ON h.idx = r.idx
    """
    )
)


async def statuses(
    conn: AsyncConnection, keys: Sequence[StatusKey], now: datetime | None = None
) -> dict[StatusKey, Status]:
    """The status of each key, in one statement; keys of unknown users are left out.

    A key without an instant is asked about ``now`` (default: the current time, read once so every
    key of a batch sees the same period).
    """
    if not keys:
        return {}
    now = now or datetime.now(UTC)
    bounds = [all_period_bounds(at or now) for _, _, at in keys]
    windows: dict[str, list[Any]] = {
        "window_keys": [],
        "window_periods": [],
        "window_first_days": [],
        "window_end_days": [],
    }
    for idx, candidates in enumerate(bounds, start=1):
        for period, (start, end) in candidates.items():
            windows["window_keys"].append(idx)
            windows["window_periods"].append(period.value)
            windows["window_first_days"].append(rollup_day(start))
            windows["window_end_days"].append(rollup_day(end))
    rows = await _STATUSES.fetch(conn, key_params([(k[0], k[1]) for k in keys]) | windows | {"now": now})
    found = {}
    for row in rows:
        remember_mode(conn.engine, EnforcementMode(row["enforcement_mode"]))
        limit = limit_from_row(row)
        idx = row["idx"]
        window = bounds[idx - 1][limit.period] if limit.period else None
        found[keys[idx - 1]] = Status(
            limit=limit,
            spend_micros=row["spend_micros"],
            period_start=window[0] if window else None,
            period_end=window[1] if window else None,
            held_micros=row["held_micros"],
        )
    return found


async def status(
    conn: AsyncConnection,
    user_id: uuid.UUID,
    organization_id: uuid.UUID | None = None,
    at: datetime | None = None,
) -> Status | None:
    """The status of one user; None when the user does not exist."""
    key = (user_id, organization_id, at)
    return (await statuses(conn, [key])).get(key)
