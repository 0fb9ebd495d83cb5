"""Spend in a period (spec section 4): how it is read, and the one conversion it needs.

Spend of a user in [start, end) is the cost of the messages in chats they own (child chats carry
their parent's owner), soft-deleted messages and archived chats included, unpriced (NULL) costs
excluded. It is read from ``chat_spend_daily``, the rollup that triggers keep exact, keyed by
(user, UTC day, organization, slot): periods are whole UTC days, and concurrent writers of one user
add to the slot of their database session (migration 000003) instead of queueing on one row. So any
period's spend is a sum over at most 31 days times 8 slots of small rows, however long the history;
every reader sums over slots. The scope (which organizations count) comes from the resolution's
``scope_organization_id``; the statement is ``spendlimits_statuses`` in the migrations.
"""

from datetime import UTC, date, datetime, time


def rollup_day(bound: datetime) -> date:
    """A period bound as the rollup's UTC day; bounds between days cannot be answered from it."""
    utc = bound.astimezone(UTC)
    if utc.time() != time(0):
        raise ValueError(f"period bounds must be at midnight UTC, got {bound.isoformat()}")
    return utc.date()
