"""Which reservations hold budget in a status's scope: the one home of that rule (docs/design.md).

A hold is live while its state is HELD and ``now < expires_at``: expiry needs no job. Live holds
are about the present, so they count in the period that contains ``now`` and in no other.

Scope follows spend (spec section 4): a personal or default limit, or a group limit asked about
without an organization, counts every live hold of the user. A group limit asked about for an
organization O counts the holds made for O, and the holds made without an organization, since
their message may still land in O: erring that way can refuse a call needlessly, never overspend.
"""

# Reads ``resolved`` (resolution.RESOLVED_CTES) and ``windows`` (as status builds it) and the bind
# parameter ``:now``; defines ``held(idx, held_micros)`` for the keys that hold anything.
HELD_CTE = """
held AS (
    SELECT r.idx, sum(h.amount_micros)::bigint AS held_micros
    FROM resolved r
    JOIN windows w ON w.idx = r.idx AND w.period = r.period
    JOIN chat_spend_reservations h
      ON h.user_id = r.user_id AND h.state = 'held' AND h.expires_at > CAST(:now AS timestamptz)
    WHERE r.source <> 'disabled'
      AND (CAST(:now AS timestamptz) AT TIME ZONE 'UTC')::date >= w.first_day
      AND (CAST(:now AS timestamptz) AT TIME ZONE 'UTC')::date < w.end_day
      AND (r.source <> 'group' OR r.organization_id IS NULL
           OR h.organization_id IS NULL OR h.organization_id = r.organization_id)
    GROUP BY r.idx
)"""
