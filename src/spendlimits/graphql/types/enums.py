"""GraphQL enums that mirror domain enums (GraphQL names are the members' names).

Importing this module registers them; annotate fields with the domain enum itself.
"""

__all__ = ["EnforcementMode", "LimitSource", "Period", "Role", "Service"]

import strawberry

from spendlimits.auth.principal import Role, Service
from spendlimits.limits.enforcement import EnforcementMode
from spendlimits.limits.periods import Period
from spendlimits.limits.resolution import LimitSource

strawberry.enum(Role, name="Role", description="A user's deployment-wide role.")
strawberry.enum(
    Service, name="ServiceAccount", description="Who a token acts for when it belongs to no user."
)
strawberry.enum(
    Period,
    name="ChatUsageLimitPeriod",
    description=(
        "The length of a spend-limit period. Periods are calendar-aligned in UTC: DAY is midnight to "
        "midnight, WEEK starts Monday 00:00, MONTH starts on the 1st at 00:00."
    ),
)
strawberry.enum(
    LimitSource,
    name="ChatSpendLimitSource",
    description=(
        "Which tier of the hierarchy produced a user's effective limit: USER (their own override, "
        "wins whatever its value), GROUP (the lowest limit among their groups), DEFAULT (the "
        "deployment-wide default), DISABLED (limits are switched off: unlimited)."
    ),
)
strawberry.enum(
    EnforcementMode,
    name="EnforcementMode",
    description=(
        "What a check or reserve does when the decision cannot be evaluated (database error or "
        "timeout): FAIL_OPEN allows the work (Coder's behaviour; the default), FAIL_CLOSED refuses it."
    ),
)
