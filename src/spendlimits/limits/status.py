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

from spendlimits.db.driver import HotStatement, Row
from spendlimits.limits.enforcement import EnforcementMode, remember_mode
from spendlimits.limits.periods import all_period_bounds, period_bounds
from spendlimits.limits.resolution import EffectiveLimit, LimitSource, key_params, limit_from_row
from spendlimits.limits.spend import rollup_day

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
    #: Live reservations (HELD, unexpired) in the period's scope.
    held_micros: int = 0
    #: The admission rule's answer for new work (no estimate): False exactly when spend >= limit.
    #: Decided in the database (``spendlimits_admits``), the rule's one home.
    allowed: bool = True

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
        """Equality blocks: a limit of 100 is used up at a spend of 100 (``allowed`` says so)."""
        return not self.allowed


# The admission check runs it on every check: a HotStatement skips SQLAlchemy's per-statement work
# on the check's autocommit connection. The statement is a SQL function (migration 000003) so that a
# reserve can run the very same read under the user's lock, inside its one call.
_STATUSES = HotStatement(
    text(
        """
        SELECT idx, user_id, organization_id, source, limit_micros, group_id, period,
               scope_organization_id, spend_micros, held_micros, allowed, enforcement_mode
        FROM spendlimits_statuses(
            CAST(:user_ids AS uuid[]), CAST(:organization_ids AS uuid[]),
            CAST(:window_keys AS bigint[]), CAST(:window_periods AS text[]),
            CAST(:window_first_days AS date[]), CAST(:window_end_days AS date[]),
            CAST(:now AS timestamptz))
        """
    )
)


def window_params(instants: Sequence[datetime]) -> dict[str, list[Any]]:
    """Bind parameters for the window_* arrays: every period's bounds around each instant."""
    windows: dict[str, list[Any]] = {
        "window_keys": [],
        "window_periods": [],
        "window_first_days": [],
        "window_end_days": [],
    }
    for idx, at in enumerate(instants, start=1):
        for period, (start, end) in all_period_bounds(at).items():
            windows["window_keys"].append(idx)
            windows["window_periods"].append(period.value)
            windows["window_first_days"].append(rollup_day(start))
            windows["window_end_days"].append(rollup_day(end))
    return windows


def status_from_row(row: Row, at: datetime) -> Status:
    """A Status from a row of ``spendlimits_statuses`` (read by column name) for instant ``at``."""
    limit = limit_from_row(row)
    window = period_bounds(limit.period, at) if limit.period else None
    return Status(
        limit=limit,
        spend_micros=row["spend_micros"],
        period_start=window[0] if window else None,
        period_end=window[1] if window else None,
        held_micros=row["held_micros"],
        allowed=row["allowed"],
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
    instants = [at or now for _, _, at in keys]
    rows = await _STATUSES.fetch(
        conn, key_params([(k[0], k[1]) for k in keys]) | window_params(instants) | {"now": now}
    )
    found = {}
    for row in rows:
        remember_mode(conn.engine, EnforcementMode(row["enforcement_mode"]))
        idx = row["idx"]
        found[keys[idx - 1]] = status_from_row(row, instants[idx - 1])
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
