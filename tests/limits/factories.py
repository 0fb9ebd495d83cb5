"""Limit fixtures written straight to the database, so limit tests depend on no write API.

Builds on the directory's test factory (organizations, users, groups, chats, messages) and adds
what limits need: the configuration, overrides, archived chats.
"""

import uuid
from datetime import datetime

from sqlalchemy import text

from spendlimits.limits.periods import Period
from tests.directory.factories import Factory

#: $N in spec section 11 means N dollars: N * 1,000,000 micros.
DOLLAR = 1_000_000


class LimitFactory(Factory):
    async def enable(self, default_limit_micros: int, period: Period = Period.MONTH) -> None:
        await self._execute(
            "UPDATE chat_usage_limit_config SET enabled = true, default_limit_micros = :limit, period = :period",
            limit=default_limit_micros,
            period=period.value,
        )

    async def disable(self) -> None:
        await self._execute("UPDATE chat_usage_limit_config SET enabled = false")

    async def user_override(self, user_id: uuid.UUID, limit_micros: int | None) -> None:
        await self._execute(
            "UPDATE users SET chat_spend_limit_micros = :limit WHERE id = :id", id=user_id, limit=limit_micros
        )

    async def limited_group(
        self, organization_id: uuid.UUID, name: str, limit_micros: int, members: tuple[uuid.UUID, ...] = ()
    ) -> uuid.UUID:
        group_id = await self.group(organization_id, name, members)
        await self.group_override(group_id, limit_micros)
        return group_id

    async def group_override(self, group_id: uuid.UUID, limit_micros: int | None) -> None:
        await self._execute(
            "UPDATE groups SET chat_spend_limit_micros = :limit WHERE id = :id",
            id=group_id,
            limit=limit_micros,
        )

    async def archive(self, chat_id: uuid.UUID) -> None:
        await self._execute("UPDATE chats SET archived = true WHERE id = :id", id=chat_id)

    async def spend(
        self, owner_id: uuid.UUID, organization_id: uuid.UUID, cost: int | None, at: datetime | None = None
    ) -> uuid.UUID:
        """A message of ``cost`` in a new chat of the owner in the organization; returns the chat."""
        chat_id = await self.chat(owner_id, organization_id)
        await self.message(chat_id, cost, created_at=at)
        return chat_id

    async def _execute(self, sql: str, **params: object) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(text(sql), params)
