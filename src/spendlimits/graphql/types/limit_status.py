"""What a user's limit is and where they stand: EffectiveChatSpendLimit, ChatUsageLimitStatus, and
the admission check's ChatUsageLimitCheck and ChatUsageLimitExceeded.
"""

import uuid
from datetime import datetime

import strawberry

from spendlimits.graphql.context import Info
from spendlimits.graphql.errors import BadUserInput, parse_id
from spendlimits.graphql.loaders.batch import required
from spendlimits.graphql.scalars import Micros
from spendlimits.graphql.types.enums import LimitSource, Period
from spendlimits.graphql.types.group import Group
from spendlimits.limits import check, config, resolution, status
from spendlimits.limits.periods import PeriodOutOfRange, all_period_bounds

#: What `at` means, for every field that takes it (docs/api.md).
AT_DESCRIPTION = (
    "Picks the period that contains this instant (default: now). A past period is evaluated "
    "against the limits in force now (the current configuration, overrides and group "
    "memberships), not those in force at the time; only its spend is historical."
)


def parse_scope(
    organization_id: strawberry.ID | None, at: datetime | None = None
) -> tuple[uuid.UUID | None, datetime | None]:
    """The organization and instant arguments of the limit fields, checked."""
    organization = None if organization_id is None else parse_id(organization_id, "organizationId")
    if at is not None:
        try:
            all_period_bounds(at)
        except PeriodOutOfRange as exc:
            raise BadUserInput(f"at: {exc}.") from None
    return organization, at


def _micros(value: int | None) -> Micros | None:
    return None if value is None else Micros(value)


# Plain fields, not methods, wherever no loader is needed: graphql-core calls a method field
# through strawberry's resolver wrapper (an Info object, argument conversion, an extension chain),
# ~15-20 µs a field under cProfile, and the check's answer has a dozen (BENCHMARKS.md, "Decisions at
# less CPU").
# Each type keeps ``X(domain=...)`` as its constructor, which copies the values out once; the
# dataclass that strawberry makes of the class leaves an explicit __init__ alone.


async def _winning_group(root: "EffectiveChatSpendLimit", info: Info) -> Group | None:
    if root.domain.group_id is None:
        return None
    group = await info.context.loaders.group.load(root.domain.group_id)
    return Group(domain=required(group, "winning group"))


@strawberry.type(description="Where a user's limit comes from.")
class EffectiveChatSpendLimit:
    domain: strawberry.Private[resolution.EffectiveLimit]
    limit_micros: Micros | None = strawberry.field(
        description="The limit per period in micro-dollars; null when source is DISABLED."
    )
    source: LimitSource = strawberry.field(description="Which tier of the hierarchy the limit comes from.")
    # A resolver given by argument keeps the field's place in the schema between the plain ones.
    group: Group | None = strawberry.field(
        resolver=_winning_group, description="The group whose limit won, when source is GROUP."
    )
    period: Period | None = strawberry.field(
        description="The deployment's period; null when source is DISABLED."
    )

    def __init__(self, domain: resolution.EffectiveLimit) -> None:
        self.domain = domain
        self.limit_micros = _micros(domain.limit_micros)
        self.source = domain.source
        self.period = domain.period


@strawberry.type(description="A user's usage against their limit in one period: what a usage bar shows.")
class ChatUsageLimitStatus:
    domain: strawberry.Private[status.Status]
    is_limited: bool = strawberry.field(
        description=(
            "False when limits are disabled; then the fields below that can be null are null and "
            "currentSpendMicros is 0."
        )
    )
    limit_source: LimitSource = strawberry.field(
        description="Which tier of the hierarchy the limit comes from."
    )
    period: Period | None = strawberry.field(
        description="The deployment's period; null when limits are disabled."
    )
    spend_limit_micros: Micros | None = strawberry.field(
        description="The effective limit; null when limits are disabled."
    )
    current_spend_micros: Micros = strawberry.field(
        description=(
            "Spend in the period: costs of messages in chats the user owns (deleted messages, "
            "archived and sub-agent chats included). Across all organizations, except that a "
            "winning GROUP limit asked about with an organizationId counts only that organization."
        )
    )
    remaining_micros: Micros | None = strawberry.field(
        description=(
            "max(spendLimitMicros - currentSpendMicros - heldMicros, 0); null when limits are disabled."
        )
    )
    held_micros: Micros = strawberry.field(
        description=(
            "Sum of the user's live (HELD, unexpired) reservations in the period's scope; counted "
            "in the period that contains now only."
        )
    )
    exceeded: bool = strawberry.field(
        description="currentSpendMicros >= spendLimitMicros: new work is refused."
    )
    period_start: datetime | None = strawberry.field(
        description="Inclusive start of the period; null when limits are disabled."
    )
    period_end: datetime | None = strawberry.field(
        description="Exclusive end of the period, when the limit resets; null when limits are disabled."
    )

    def __init__(self, domain: status.Status) -> None:
        self.domain = domain
        limit = domain.limit
        self.is_limited = domain.is_limited
        self.limit_source = limit.source
        self.period = limit.period
        self.spend_limit_micros = _micros(limit.limit_micros)
        self.current_spend_micros = Micros(domain.spend_micros)
        self.remaining_micros = _micros(domain.remaining_micros)
        self.held_micros = Micros(domain.held_micros)
        self.exceeded = domain.exceeded
        self.period_start = domain.period_start
        self.period_end = domain.period_end

    @strawberry.field(
        description=(
            "The highest warning threshold that currentSpendMicros has reached, in percent; null "
            "below the first one or when unlimited. Exceeded users report the highest threshold."
        )
    )
    async def warning_threshold_percent(self, info: Info) -> int | None:
        if self.domain.limit.limit_micros is None:
            return None
        found = await info.context.loaders.limit_config.load(None)
        thresholds = required(found, "limit configuration").warning_thresholds_percent
        return config.warning_threshold(thresholds, self.domain.spend_micros, self.domain.limit.limit_micros)


@strawberry.type(description="What a blocked user is shown.")
class ChatUsageLimitExceeded:
    message: str = strawberry.field(description='Always "Chat usage limit exceeded.".')
    spent_micros: Micros = strawberry.field(
        description="Spend in the current period; may exceed the limit (a finished turn overshoots)."
    )
    limit_micros: Micros = strawberry.field(description="The effective limit that blocked.")
    held_micros: Micros = strawberry.field(
        description=(
            "Budget held by live reservations in the limit's scope when refused: a reserve is "
            "refused when spentMicros + heldMicros + its estimate would pass limitMicros."
        )
    )
    resets_at: datetime = strawberry.field(description="When the period ends and the user may spend again.")

    def __init__(self, domain: check.Exceeded) -> None:
        self.message = domain.message
        self.spent_micros = Micros(domain.spent_micros)
        self.limit_micros = Micros(domain.limit_micros)
        self.held_micros = Micros(domain.held_micros)
        self.resets_at = domain.resets_at


@strawberry.type(description="The answer to an admission check: may this user start more LLM work now?")
class ChatUsageLimitCheck:
    allowed: bool = strawberry.field(
        description="False when spend >= limit (refuse the work and show exceeded), or when failedClosed."
    )
    failed_open: bool = strawberry.field(
        description=(
            "True when the check could not be evaluated (for example the database was unreachable) "
            "and the work was allowed anyway."
        )
    )
    failed_closed: bool = strawberry.field(
        description=(
            "True when the check could not be evaluated and the work was refused (enforcement "
            "mode FAIL_CLOSED)."
        )
    )
    status: ChatUsageLimitStatus | None = strawberry.field(
        description="The status the decision was made on; null when failedOpen or failedClosed."
    )
    exceeded: ChatUsageLimitExceeded | None = strawberry.field(
        description="Set exactly when allowed is false because of the limit (so not when failedClosed)."
    )

    def __init__(self, domain: check.CheckResult) -> None:
        self.allowed = domain.allowed
        self.failed_open = domain.failed_open
        self.failed_closed = domain.failed_closed
        self.status = None if domain.status is None else ChatUsageLimitStatus(domain.status)
        self.exceeded = None if domain.exceeded is None else ChatUsageLimitExceeded(domain.exceeded)
