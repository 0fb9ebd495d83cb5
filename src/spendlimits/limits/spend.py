"""Spend in a period (spec section 4): how it is read, and the one conversion it needs.

Spend of a user in [start, end) is the cost of the messages in chats they own (child chats carry
their parent's owner), soft-deleted messages and archived chats included, unpriced (NULL) costs
excluded. It is read from ``chat_spend_daily``, keyed by (user, UTC day, organization): a view of
the folded rollup plus what is not folded yet (migrations 000012 and 000014: the messages past the
last fold and the journal's corrections; docs/spend-journal.md), exact at every moment. Periods are
whole UTC days, so any period's spend is a sum over at most 31 days of small rows (and the user's
unfolded rows), however long the history;
every reader sums. The scope (which organizations count) comes from the resolution's
``scope_organization_id``; the statement is ``spendlimits_statuses`` in the migrations.
"""

from datetime import UTC, date, datetime, time


def rollup_day(bound: datetime) -> date:
    """A period bound as the rollup's UTC day; bounds between days cannot be answered from it."""
    utc = bound.astimezone(UTC)
    if utc.time() != time(0):
        raise ValueError(f"period bounds must be at midnight UTC, got {bound.isoformat()}")
    return utc.date()
