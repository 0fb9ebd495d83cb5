"""One set of DataLoaders per request, built lazily: a request pays only for the loaders it uses.

Each loader runs one SQL statement per batch on its own short-lived connection, so concurrent
loaders never share a connection. Add a loader as a property here (a batch query in the domain,
wrapped by a helper from ``batch``).
"""

import uuid
from functools import cached_property

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from strawberry.dataloader import DataLoader

from spendlimits.auth.tokens import ApiToken, get_tokens
from spendlimits.directory.chats import Chat, chat_total_costs, get_chats
from spendlimits.directory.groups import (
    Group,
    MembersPage,
    UserInOrganization,
    get_groups,
    group_member_counts,
    group_members,
    groups_of_users,
)
from spendlimits.directory.messages import ChatMessage, get_messages
from spendlimits.directory.models import ChatModel, get_models
from spendlimits.directory.organizations import Organization, get_organizations, organizations_of_users
from spendlimits.directory.users import User, get_users
from spendlimits.graphql.loaders.batch import by_id, or_empty
from spendlimits.insight.history import HistoryKey, Series, histories
from spendlimits.limits.config import LimitConfig, get_config
from spendlimits.limits.resolution import EffectiveLimit, LimitKey, effective_limits
from spendlimits.limits.status import Status, StatusKey, statuses


class Loaders:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @cached_property
    def user(self) -> DataLoader[uuid.UUID, User | None]:
        return DataLoader(by_id(self.engine, get_users))

    @cached_property
    def organization(self) -> DataLoader[uuid.UUID, Organization | None]:
        return DataLoader(by_id(self.engine, get_organizations))

    @cached_property
    def group(self) -> DataLoader[uuid.UUID, Group | None]:
        return DataLoader(by_id(self.engine, get_groups))

    @cached_property
    def chat_model(self) -> DataLoader[uuid.UUID, ChatModel | None]:
        return DataLoader(by_id(self.engine, get_models))

    @cached_property
    def chat(self) -> DataLoader[uuid.UUID, Chat | None]:
        return DataLoader(by_id(self.engine, get_chats))

    @cached_property
    def chat_message(self) -> DataLoader[uuid.UUID, ChatMessage | None]:
        return DataLoader(by_id(self.engine, get_messages))

    @cached_property
    def api_token(self) -> DataLoader[uuid.UUID, ApiToken | None]:
        return DataLoader(by_id(self.engine, get_tokens))

    @cached_property
    def user_organizations(self) -> DataLoader[uuid.UUID, list[Organization]]:
        return DataLoader(or_empty(self.engine, organizations_of_users, list))

    @cached_property
    def user_groups(self) -> DataLoader[UserInOrganization, list[Group]]:
        return DataLoader(or_empty(self.engine, groups_of_users, list))

    @cached_property
    def group_member_count(self) -> DataLoader[uuid.UUID, int]:
        return DataLoader(or_empty(self.engine, group_member_counts, int))

    @cached_property
    def group_members(self) -> DataLoader[MembersPage, list[User]]:
        return DataLoader(or_empty(self.engine, group_members, list))

    @cached_property
    def chat_total_cost(self) -> DataLoader[uuid.UUID, int]:
        return DataLoader(or_empty(self.engine, chat_total_costs, int))

    @cached_property
    def effective_limit(self) -> DataLoader[LimitKey, EffectiveLimit | None]:
        return DataLoader(by_id(self.engine, effective_limits))

    @cached_property
    def limit_status(self) -> DataLoader[StatusKey, Status | None]:
        return DataLoader(by_id(self.engine, statuses))

    @cached_property
    def spend_history(self) -> DataLoader[HistoryKey, Series | None]:
        return DataLoader(by_id(self.engine, histories))

    @cached_property
    def limit_config(self) -> DataLoader[None, LimitConfig | None]:
        """The configuration, read once per request however many statuses need its thresholds."""

        async def config(conn: AsyncConnection, keys: list[None]) -> dict[None, LimitConfig]:
            return {None: await get_config(conn)}

        return DataLoader(by_id(self.engine, config))
