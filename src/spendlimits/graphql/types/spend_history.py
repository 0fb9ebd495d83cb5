"""Spend over time: ChatSpendBucket, ChatSpendPoint, ChatSpendSeries, and the one resolver the
chatSpendHistory fields of User, Organization and Group share."""

import enum
import uuid
from datetime import datetime
from typing import Annotated

import strawberry

from spendlimits.graphql.context import Info
from spendlimits.graphql.errors import BadUserInput
from spendlimits.graphql.loaders.batch import required
from spendlimits.graphql.scalars import Micros
from spendlimits.insight import history
from spendlimits.limits.periods import Period


@strawberry.enum(
    name="ChatSpendBucket",
    description="The width of one point of a spend series; buckets are calendar-aligned in UTC like periods.",
)
class SpendBucket(enum.Enum):
    DAY = strawberry.enum_value("day", description="One UTC day, from midnight.")
    WEEK = strawberry.enum_value("week", description="One week, from Monday 00:00 UTC.")
    MONTH = strawberry.enum_value("month", description="One calendar month, from the 1st 00:00 UTC.")


@strawberry.type(name="ChatSpendPoint", description="Spend in one bucket [start, end).")
class SpendPoint:
    domain: strawberry.Private[history.Point]

    @strawberry.field(description="Inclusive start of the bucket (UTC midnight).")
    def start(self) -> datetime:
        return self.domain.start

    @strawberry.field(description="Exclusive end of the bucket.")
    def end(self) -> datetime:
        return self.domain.end

    @strawberry.field(description="Spend in the bucket, by the same rules as currentSpendMicros.")
    def spend_micros(self) -> Micros:
        return Micros(self.domain.spend_micros)


@strawberry.type(
    name="ChatSpendSeries",
    description=(
        "Spend per bucket over [from, to): every bucket that overlaps the range is listed, zeros "
        "included, oldest first; from and to are rounded outward to bucket boundaries. At most 400 "
        "buckets (a longer range is BAD_USER_INPUT)."
    ),
)
class SpendSeries:
    domain: strawberry.Private[history.Series]

    @strawberry.field(description="The width of every point.")
    def bucket(self) -> SpendBucket:
        return SpendBucket(self.domain.bucket.value)

    @strawberry.field(description="One point per bucket, oldest first.")
    def points(self) -> list[SpendPoint]:
        return [SpendPoint(domain=p) for p in self.domain.points]

    @strawberry.field(description="The sum of the points.")
    def total_micros(self) -> Micros:
        return Micros(self.domain.total_micros)


From = Annotated[datetime, strawberry.argument(name="from", description="Start of the range, inclusive.")]
To = Annotated[datetime, strawberry.argument(description="End of the range, exclusive.")]
Bucket = Annotated[SpendBucket | None, strawberry.argument(description="The width of one point.")]


async def load_series(
    info: Info,
    subject: history.Subject,
    subject_id: uuid.UUID,
    start: datetime,
    end: datetime,
    bucket: SpendBucket | None,
    organization_id: uuid.UUID | None = None,
) -> SpendSeries:
    """The series through this request's DataLoader: one statement per batch of series."""
    try:
        key = history.history_key(
            subject, subject_id, start, end, Period((bucket or SpendBucket.DAY).value), organization_id
        )
    except history.RangeError as exc:
        raise BadUserInput(str(exc)) from None
    return SpendSeries(domain=required(await info.context.loaders.spend_history.load(key), "spend series"))
