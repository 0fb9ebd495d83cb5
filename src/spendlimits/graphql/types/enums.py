"""GraphQL enums that mirror domain enums (GraphQL names are the members' names).

Importing this module registers them; annotate fields with the domain enum itself.
"""

__all__ = ["EnforcementMode", "LimitSource", "Period", "Role", "Service"]

from spendlimits.auth.principal import Role, Service
from spendlimits.graphql.descriptions import described_enum
from spendlimits.limits.enforcement import EnforcementMode
from spendlimits.limits.periods import Period
from spendlimits.limits.resolution import LimitSource

described_enum(
    Role,
    "Role",
    "A user's deployment-wide role.",
    {
        "OWNER": "Reads and changes everything. A deployment keeps at least one live owner.",
        "AUDITOR": "Reads everything, changes nothing.",
        "MEMBER": "Reads their own data only.",
    },
)
described_enum(
    Service,
    "ServiceAccount",
    "Who a token acts for when it belongs to no user.",
    {"CHATD": "The chat daemon: checks limits and records usage for any user; changes no limits."},
)
described_enum(
    Period,
    "ChatUsageLimitPeriod",
    (
        "The length of a spend-limit period. Periods are calendar-aligned in UTC: DAY is midnight to "
        "midnight, WEEK starts Monday 00:00, MONTH starts on the 1st at 00:00."
    ),
    {
        "DAY": "Midnight UTC to the next midnight UTC.",
        "WEEK": "Monday 00:00 UTC to the next Monday 00:00 UTC.",
        "MONTH": "The 1st of the month 00:00 UTC to the 1st of the next month.",
    },
)
described_enum(
    LimitSource,
    "ChatSpendLimitSource",
    (
        "Which tier of the hierarchy produced a user's effective limit: USER (their own override, "
        "wins whatever its value), GROUP (the lowest limit among their groups), DEFAULT (the "
        "deployment-wide default), DISABLED (limits are switched off: unlimited)."
    ),
    {
        "USER": "The user's own override (highest priority, wins whatever its value).",
        "GROUP": "The lowest limit among the user's groups.",
        "DEFAULT": "The deployment-wide default limit.",
        "DISABLED": "Limits are switched off deployment-wide: unlimited.",
    },
)
described_enum(
    EnforcementMode,
    "EnforcementMode",
    (
        "What a check or reserve does when the decision cannot be evaluated (database error or "
        "timeout): FAIL_OPEN allows the work (Coder's behaviour; the default), FAIL_CLOSED refuses it."
    ),
    {
        "FAIL_OPEN": "Allow the work when the decision cannot be evaluated (Coder's behaviour; the default).",
        "FAIL_CLOSED": "Refuse the work when the decision cannot be evaluated.",
    },
)
