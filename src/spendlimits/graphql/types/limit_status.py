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


@strawberry.type(description="Where a user's limit comes from.")
class EffectiveChatSpendLimit:
    domain: strawberry.Private[resolution.EffectiveLimit]

    @strawberry.field(description="The limit per period in micro-dollars; null when source is DISABLED.")
    def limit_micros(self) -> Micros | None:
        return _micros(self.domain.limit_micros)

    @strawberry.field(description="Which tier of the hierarchy the limit comes from.")
    def source(self) -> LimitSource:
        return self.domain.source

    @strawberry.field(description="The group whose limit won, when source is GROUP.")
    async def group(self, info: Info) -> Group | None:
        if self.domain.group_id is None:
            return None
        group = await info.context.loaders.group.load(self.domain.group_id)
        return Group(domain=required(group, "winning group"))

    @strawberry.field(description="The deployment's period; null when source is DISABLED.")
    def period(self) -> Period | None:
        return self.domain.period


@strawberry.type(description="A user's usage against their limit in one period: what a usage bar shows.")
class ChatUsageLimitStatus:
    domain: strawberry.Private[status.Status]

    @strawberry.field(
        description=(
            "False when limits are disabled; then the fields below that can be null are null and "
            "currentSpendMicros is 0."
        )
    )
    def is_limited(self) -> bool:
        return self.domain.is_limited

    @strawberry.field(description="Which tier of the hierarchy the limit comes from.")
    def limit_source(self) -> LimitSource:
        return self.domain.limit.source

    @strawberry.field(description="The deployment's period; null when limits are disabled.")
    def period(self) -> Period | None:
        return self.domain.limit.period

    @strawberry.field(description="The effective limit; null when limits are disabled.")
    def spend_limit_micros(self) -> Micros | None:
        return _micros(self.domain.limit.limit_micros)

    @strawberry.field(
        description=(
            "Spend in the period: costs of messages in chats the user owns (deleted messages, "
            "archived and sub-agent chats included). Across all organizations, except that a "
            "winning GROUP limit asked about with an organizationId counts only that organization."
        )
    )
    def current_spend_micros(self) -> Micros:
        return Micros(self.domain.spend_micros)

    @strawberry.field(
        description=(
            "max(spendLimitMicros - currentSpendMicros - heldMicros, 0); null when limits are disabled."
        )
    )
    def remaining_micros(self) -> Micros | None:
        return _micros(self.domain.remaining_micros)

    @strawberry.field(
        description=(
            "Sum of the user's live (HELD, unexpired) reservations in the period's scope; counted "
            "in the period that contains now only."
        )
    )
    def held_micros(self) -> Micros:
        return Micros(self.domain.held_micros)

    @strawberry.field(description="currentSpendMicros >= spendLimitMicros: new work is refused.")
    def exceeded(self) -> bool:
        return self.domain.exceeded

    @strawberry.field(description="Inclusive start of the period; null when limits are disabled.")
    def period_start(self) -> datetime | None:
        return self.domain.period_start

    @strawberry.field(
        description="Exclusive end of the period, when the limit resets; null when limits are disabled."
    )
    def period_end(self) -> datetime | None:
        return self.domain.period_end

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
    domain: strawberry.Private[check.Exceeded]

    @strawberry.field(description='Always "Chat usage limit exceeded.".')
    def message(self) -> str:
        return self.domain.message

    @strawberry.field(
        description="Spend in the current period; may exceed the limit (a finished turn overshoots)."
    )
    def spent_micros(self) -> Micros:
        return Micros(self.domain.spent_micros)

    @strawberry.field(description="The effective limit that blocked.")
    def limit_micros(self) -> Micros:
        return Micros(self.domain.limit_micros)

    @strawberry.field(
        description=(
            "Budget held by live reservations in the limit's scope when refused: a reserve is "
            "refused when spentMicros + heldMicros + its estimate would pass limitMicros."
        )
    )
    def held_micros(self) -> Micros:
        return Micros(self.domain.held_micros)

    @strawberry.field(description="When the period ends and the user may spend again.")
    def resets_at(self) -> datetime:
        return self.domain.resets_at


@strawberry.type(description="The answer to an admission check: may this user start more LLM work now?")
class ChatUsageLimitCheck:
    domain: strawberry.Private[check.CheckResult]

    @strawberry.field(
        description="False when spend >= limit (refuse the work and show exceeded), or when failedClosed."
    )
    def allowed(self) -> bool:
        return self.domain.allowed

    @strawberry.field(
        description=(
            "True when the check could not be evaluated (for example the database was unreachable) "
            "and the work was allowed anyway."
        )
    )
    def failed_open(self) -> bool:
        return self.domain.failed_open

    @strawberry.field(
        description=(
            "True when the check could not be evaluated and the work was refused (enforcement "
            "mode FAIL_CLOSED)."
        )
    )
    def failed_closed(self) -> bool:
        return self.domain.failed_closed

    @strawberry.field(
        description="The status the decision was made on; null when failedOpen or failedClosed."
    )
    def status(self) -> ChatUsageLimitStatus | None:
        return None if self.domain.status is None else ChatUsageLimitStatus(domain=self.domain.status)

    @strawberry.field(
        description="Set exactly when allowed is false because of the limit (so not when failedClosed)."
    )
    def exceeded(self) -> ChatUsageLimitExceeded | None:
        return None if self.domain.exceeded is None else ChatUsageLimitExceeded(domain=self.domain.exceeded)
