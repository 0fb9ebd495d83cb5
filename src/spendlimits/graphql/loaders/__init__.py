"""One set of DataLoaders per request, built lazily: a request pays only for the loaders it uses.

Each loader runs one SQL statement per batch on its own short-lived connection, so concurrent
loaders never share a connection. Add a loader as a module in this package and a property here.
"""

import uuid
from functools import cached_property

from sqlalchemy.ext.asyncio import AsyncEngine
from strawberry.dataloader import DataLoader

from spendlimits.directory.users import User, get_users
from spendlimits.graphql.loaders.batch import by_id


class Loaders:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @cached_property
    def user(self) -> DataLoader[uuid.UUID, User | None]:
        return DataLoader(by_id(self.engine, get_users))
