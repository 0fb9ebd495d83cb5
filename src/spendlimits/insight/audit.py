"""The audit log of limit changes: who changed the configuration or an override, from what to what.

The database writes it (triggers of migration 000005 on ``chat_usage_limit_config``, ``users`` and
``groups``) in the transaction that makes the change, so no writer can change a limit unrecorded
and a rolled-back change leaves nothing; the log refuses UPDATE, DELETE and TRUNCATE. The actor
is read from two transaction-local settings that a writer acting for someone sets with
``set_actor`` before writing; unset means the command line or another service-side writer.
"""

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection

from spendlimits.auth.principal import Principal, Service
from spendlimits.directory.pages import Page
from spendlimits.limits.enforcement import EnforcementMode
from spendlimits.limits.periods import Period


class ChangeKind(enum.Enum):
    """Values as stored in ``chat_usage_limit_changes.kind``."""

    CONFIG = "config"
    USER_OVERRIDE = "user_override"
    GROUP_OVERRIDE = "group_override"


@dataclass(frozen=True, slots=True)
class Change:
    id: int
    at: datetime
    kind: ChangeKind
    actor_user_id: uuid.UUID | None
    actor_service: Service | None
    user_id: uuid.UUID | None
    group_id: uuid.UUID | None
    #: The limit before and after; None where there was none (no override, limits off).
    old_spend_limit_micros: int | None
    new_spend_limit_micros: int | None
    #: CONFIG only.
    old_enabled: bool | None
    new_enabled: bool | None
    old_period: Period | None
    new_period: Period | None
    old_enforcement_mode: EnforcementMode | None
    new_enforcement_mode: EnforcementMode | None
    old_reservation_ttl_seconds: int | None
    new_reservation_ttl_seconds: int | None
    old_warning_thresholds_percent: tuple[int, ...] | None
    new_warning_thresholds_percent: tuple[int, ...] | None


async def set_actor(conn: AsyncConnection, principal: Principal) -> None:
    """Names who the rest of this transaction acts for, for the audit triggers to read.

    Transaction-local (``set_config(..., true)``): it ends with the transaction, so a pooled
    connection never carries one caller's name into another's transaction.
    """
    await conn.execute(
        text(
            "SELECT set_config('spendlimits.actor_user_id', :user_id, true),"
            " set_config('spendlimits.actor_service', :service, true)"
        ),
        {
            "user_id": "" if principal.user_id is None else str(principal.user_id),
            "service": "" if principal.service is None else principal.service.value,
        },
    )


def _optional(kind: Any, value: Any) -> Any:
    return None if value is None else kind(value)


def _change(row: Row[Any]) -> Change:
    return Change(
        id=row.id,
        at=row.at,
        kind=ChangeKind(row.kind),
        actor_user_id=row.actor_user_id,
        actor_service=_optional(Service, row.actor_service),
        user_id=row.user_id,
        group_id=row.group_id,
        old_spend_limit_micros=row.old_spend_limit_micros,
        new_spend_limit_micros=row.new_spend_limit_micros,
        old_enabled=row.old_enabled,
        new_enabled=row.new_enabled,
        old_period=_optional(Period, row.old_period),
        new_period=_optional(Period, row.new_period),
        old_enforcement_mode=_optional(EnforcementMode, row.old_enforcement_mode),
        new_enforcement_mode=_optional(EnforcementMode, row.new_enforcement_mode),
        old_reservation_ttl_seconds=row.old_reservation_ttl_seconds,
        new_reservation_ttl_seconds=row.new_reservation_ttl_seconds,
        old_warning_thresholds_percent=_optional(tuple, row.old_warning_thresholds_percent),
        new_warning_thresholds_percent=_optional(tuple, row.new_warning_thresholds_percent),
    )


_FILTER = """
    (CAST(:kind AS text) IS NULL OR kind = :kind)
    AND (CAST(:user_id AS uuid) IS NULL OR user_id = :user_id)
    AND (CAST(:group_id AS uuid) IS NULL OR group_id = :group_id)
"""


async def list_changes(
    conn: AsyncConnection,
    *,
    kind: ChangeKind | None = None,
    user_id: uuid.UUID | None = None,
    group_id: uuid.UUID | None = None,
    limit: int,
    offset: int,
) -> Page[Change]:
    """Changes newest first (then by id, newest first, within one transaction), filters combined."""
    params = {
        "kind": None if kind is None else kind.value,
        "user_id": user_id,
        "group_id": group_id,
        "limit": limit,
        "offset": offset,
    }
    rows = (
        await conn.execute(
            text(
                f"""
                WITH total AS (SELECT count(*) AS total FROM chat_usage_limit_changes WHERE {_FILTER})
                SELECT total.total, page.*
                FROM total
                LEFT JOIN LATERAL (
                    SELECT * FROM chat_usage_limit_changes WHERE {_FILTER}
                    ORDER BY at DESC, id DESC
                    LIMIT :limit OFFSET :offset
                ) page ON true
                """
            ),
            params,
        )
    ).all()
    total = int(rows[0].total) if rows else 0
    return Page(items=[_change(r) for r in rows if r.id is not None], total_count=total)
