"""A user's effective limit: the hierarchy of spec section 3. This module is its only home.

For a user U and an optional organization O:
1. limits disabled: unlimited (DISABLED), overrides included;
2. U's own override, whatever its value (USER);
3. the lowest override among U's groups, Everyone groups included, only groups of O when O is given
   (GROUP; ties go to the smallest group name, then id);
4. the default limit (DEFAULT).
Deleted users belong to no group (``group_members_expanded`` drops them). The same single statement
answers one user or a batch, so the GraphQL layer's DataLoaders cost one round trip per batch.
"""

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from spendlimits.db import driver
from spendlimits.limits.periods import Period

#: (user id, organization id or None): what a limit is resolved for.
LimitKey = tuple[uuid.UUID, uuid.UUID | None]


class LimitSource(enum.Enum):
    USER = "user"
    GROUP = "group"
    DEFAULT = "default"
    DISABLED = "disabled"


@dataclass(frozen=True, slots=True)
class EffectiveLimit:
    user_id: uuid.UUID
    #: The organization the limit was resolved for; None means all of the user's organizations.
    organization_id: uuid.UUID | None
    source: LimitSource
    #: None exactly when the source is DISABLED.
    limit_micros: int | None
    #: The winning group, set exactly when the source is GROUP.
    group_id: uuid.UUID | None
    #: The deployment's period; None when the source is DISABLED.
    period: Period | None


# The requested (user, organization) pairs, numbered so that results map back to their keys.
KEYS_CTE = """
keys AS (
    SELECT k.idx, k.user_id, k.organization_id
    FROM unnest(CAST(:user_ids AS uuid[]), CAST(:organization_ids AS uuid[]))
         WITH ORDINALITY AS k(user_id, organization_id, idx)
)"""

# Reads ``keys``; defines ``config`` and ``resolved`` (one row per key whose user exists). Statements
# that need more than the limit (status: spend in the period) build on ``resolved`` rather than
# restating the hierarchy.
RESOLVED_CTES = """
config AS (
    SELECT enabled, default_limit_micros, period FROM chat_usage_limit_config
),
resolved AS (
    SELECT k.idx, k.user_id, k.organization_id, c.period,
           CASE
               WHEN NOT c.enabled THEN 'disabled'
               WHEN u.chat_spend_limit_micros IS NOT NULL THEN 'user'
               WHEN g.id IS NOT NULL THEN 'group'
               ELSE 'default'
           END AS source,
           CASE WHEN c.enabled
                THEN coalesce(u.chat_spend_limit_micros, g.chat_spend_limit_micros, c.default_limit_micros)
           END AS limit_micros,
           g.id AS group_id
    FROM keys k
    JOIN users u ON u.id = k.user_id
    CROSS JOIN config c
    LEFT JOIN LATERAL (
        -- Looked up only when it can win: limits on and no personal override.
        SELECT gr.id, gr.chat_spend_limit_micros
        FROM group_members_expanded m
        JOIN groups gr ON gr.id = m.group_id
        WHERE c.enabled AND u.chat_spend_limit_micros IS NULL
          AND m.user_id = u.id
          AND gr.chat_spend_limit_micros IS NOT NULL
          AND (k.organization_id IS NULL OR m.organization_id = k.organization_id)
        ORDER BY gr.chat_spend_limit_micros, gr.name, gr.id
        LIMIT 1
    ) g ON true
)"""

_EFFECTIVE_LIMITS = text(
    f"""
    WITH {KEYS_CTE}, {RESOLVED_CTES}
    SELECT idx, user_id, organization_id, source, limit_micros, group_id, period FROM resolved
    """
)


def key_params(keys: Sequence[LimitKey]) -> dict[str, Any]:
    """Bind parameters for ``KEYS_CTE``; row ``idx`` answers ``keys[idx - 1]``."""
    return {"user_ids": [k[0] for k in keys], "organization_ids": [k[1] for k in keys]}


def limit_from_row(row: driver.Row) -> EffectiveLimit:
    """An EffectiveLimit from a row of ``resolved``, read by column name."""
    source = LimitSource(row["source"])
    return EffectiveLimit(
        user_id=row["user_id"],
        organization_id=row["organization_id"],
        source=source,
        limit_micros=row["limit_micros"],
        group_id=row["group_id"],
        period=None if source is LimitSource.DISABLED else Period(row["period"]),
    )


async def effective_limits(conn: AsyncConnection, keys: Sequence[LimitKey]) -> dict[LimitKey, EffectiveLimit]:
    """The effective limit of each key, in one statement; keys of unknown users are left out."""
    if not keys:
        return {}
    rows = await conn.execute(_EFFECTIVE_LIMITS, key_params(keys))
    return {keys[row.idx - 1]: limit_from_row(row._mapping) for row in rows}


async def effective_limit(
    conn: AsyncConnection, user_id: uuid.UUID, organization_id: uuid.UUID | None = None
) -> EffectiveLimit | None:
    """The effective limit of one user; None when the user does not exist."""
    return (await effective_limits(conn, [(user_id, organization_id)])).get((user_id, organization_id))
