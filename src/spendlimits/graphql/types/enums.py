"""GraphQL enums that mirror domain enums (GraphQL names are the members' names).

Importing this module registers them; annotate fields with the domain enum itself.
"""

__all__ = ["Role", "Service"]

import strawberry

from spendlimits.auth.principal import Role, Service

strawberry.enum(Role, name="Role", description="A user's deployment-wide role.")
strawberry.enum(
    Service, name="ServiceAccount", description="Who a token acts for when it belongs to no user."
)
