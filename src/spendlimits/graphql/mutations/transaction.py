"""One transaction per mutation: committed when the domain succeeds, rolled back on a DomainError.

Expected failures come back as ``UserError`` data with the result null, and nothing written.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from spendlimits.errors import DomainError
from spendlimits.graphql.context import Info
from spendlimits.graphql.errors import UserError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Outcome(Generic[T]):
    #: None exactly when errors is not empty.
    value: T | None
    errors: list[UserError]


async def in_transaction(info: Info, work: Callable[[AsyncConnection], Awaitable[T]]) -> Outcome[T]:
    try:
        async with info.context.engine.begin() as conn:
            value = await work(conn)
    except DomainError as error:
        return Outcome(value=None, errors=[UserError.from_domain(error)])
    return Outcome(value=value, errors=[])
