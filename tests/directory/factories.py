"""Test data written straight to the database, so read tests depend on no write API."""

import uuid
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


class Factory:
    """Inserts rows with plain SQL; every method returns the new row's id."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def _insert(self, sql: str, **params: object) -> uuid.UUID:
        async with self.engine.begin() as conn:
            new_id: uuid.UUID = await conn.scalar(text(sql), params)
        return new_id

    async def organization(self, name: str, display_name: str = "") -> uuid.UUID:
        """An organization; the database adds its Everyone group (same id)."""
        return await self._insert(
            "INSERT INTO organizations (name, display_name) VALUES (:name, :display) RETURNING id",
            name=name,
            display=display_name,
        )

    async def user(
        self,
        username: str,
        *,
        name: str = "",
        email: str | None = None,
        role: str = "member",
        is_system: bool = False,
        deleted: bool = False,
        organizations: tuple[uuid.UUID, ...] = (),
    ) -> uuid.UUID:
        user_id = await self._insert(
            """
            INSERT INTO users (username, name, email, role, is_system, deleted)
            VALUES (:username, :name, :email, :role, :is_system, :deleted) RETURNING id
            """,
            username=username,
            name=name,
            email=email,
            role=role,
            is_system=is_system,
            deleted=deleted,
        )
        for organization_id in organizations:
            await self.join(organization_id, user_id)
        return user_id

    async def join(self, organization_id: uuid.UUID, user_id: uuid.UUID) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                text("INSERT INTO organization_members (organization_id, user_id) VALUES (:o, :u)"),
                {"o": organization_id, "u": user_id},
            )

    async def group(
        self, organization_id: uuid.UUID, name: str, members: tuple[uuid.UUID, ...] = ()
    ) -> uuid.UUID:
        group_id = await self._insert(
            "INSERT INTO groups (organization_id, name) VALUES (:o, :name) RETURNING id",
            o=organization_id,
            name=name,
        )
        async with self.engine.begin() as conn:
            for user_id in members:
                await conn.execute(
                    text("INSERT INTO group_members (group_id, user_id) VALUES (:g, :u)"),
                    {"g": group_id, "u": user_id},
                )
        return group_id

    async def delete_user(self, user_id: uuid.UUID) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(text("UPDATE users SET deleted = true WHERE id = :id"), {"id": user_id})

    async def model(
        self,
        provider: str,
        model: str,
        *,
        enabled: bool = True,
        input_price: int | None = None,
        output_price: int | None = None,
    ) -> uuid.UUID:
        return await self._insert(
            """
            INSERT INTO chat_models (provider, model, enabled, input_price_micros, output_price_micros)
            VALUES (:provider, :model, :enabled, :input, :output) RETURNING id
            """,
            provider=provider,
            model=model,
            enabled=enabled,
            input=input_price,
            output=output_price,
        )

    async def chat(
        self,
        owner_id: uuid.UUID,
        organization_id: uuid.UUID,
        *,
        title: str = "",
        parent_chat_id: uuid.UUID | None = None,
    ) -> uuid.UUID:
        return await self._insert(
            """
            INSERT INTO chats (owner_id, organization_id, title, parent_chat_id)
            VALUES (:owner, :org, :title, :parent) RETURNING id
            """,
            owner=owner_id,
            org=organization_id,
            title=title,
            parent=parent_chat_id,
        )

    async def message(
        self,
        chat_id: uuid.UUID,
        cost: int | None,
        *,
        deleted: bool = False,
        model_id: uuid.UUID | None = None,
        created_at: datetime | None = None,
    ) -> uuid.UUID:
        return await self._insert(
            """
            INSERT INTO chat_messages (chat_id, role, model_id, total_cost_micros, deleted, created_at)
            VALUES (:chat, 'assistant', :model, :cost, :deleted, :created_at) RETURNING id
            """,
            chat=chat_id,
            model=model_id,
            cost=cost,
            deleted=deleted,
            created_at=created_at or datetime.now(UTC),
        )
