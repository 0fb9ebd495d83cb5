"""A user's effective limit and its spend scope: the hierarchy of spec section 3.

The rule itself is the SQL function ``spendlimits_resolve`` (migration 000003; set-based since
000010, so that thousands of keys cost one scan per membership table), its one home: the
check's status, every reserve (decided inside one SQL call under the user's lock) and this module's
reads all call it, so adding a tier is one change there. It outputs ``scope_organization_id``, the
organization whose spend and holds count (NULL: every organization), and nothing else matches on
the source to decide a scope.

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
    #: Whose spend and holds count against the limit: this organization's only, or every
    #: organization of the user when None. Only a GROUP limit asked about for an organization is
    #: scoped; a personal or default limit cannot be escaped by spreading spend over organizations.
    scope_organization_id: uuid.UUID | None = None


_EFFECTIVE_LIMITS = text(
    """
    SELECT idx, user_id, organization_id, source, limit_micros, group_id, period, scope_organization_id
    FROM spendlimits_resolve(CAST(:user_ids AS uuid[]), CAST(:organization_ids AS uuid[]))
    """
)


def key_params(keys: Sequence[LimitKey]) -> dict[str, Any]:
    """Bind parameters for the SQL functions taking keys; row ``idx`` answers ``keys[idx - 1]``."""
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
        scope_organization_id=row["scope_organization_id"],
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
