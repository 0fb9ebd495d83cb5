"""Chats: the chat daemon (CHATD) or an OWNER."""

from typing import Annotated

import strawberry

from spendlimits.directory import chats
from spendlimits.graphql.context import Info
from spendlimits.graphql.errors import UserError, parse_id
from spendlimits.graphql.mutations.transaction import Outcome, in_transaction
from spendlimits.graphql.permissions import require_usage_writer
from spendlimits.graphql.types.chat import Chat

ERRORS = "Why nothing was done; empty on success."


@strawberry.input(description="A new chat. A child chat (parentChatId) must have the parent's owner.")
class CreateChatInput:
    owner_id: strawberry.ID = strawberry.field(
        description="The live user whose spend the chat's messages count toward."
    )
    organization_id: strawberry.ID = strawberry.field(description="The organization the chat belongs to.")
    title: str | None = strawberry.field(default="", description="At most 512 characters; null means empty.")
    parent_chat_id: strawberry.ID | None = strawberry.field(
        default=None, description="The chat that started this sub-agent chat; it must have the same owner."
    )


@strawberry.type(description="The result of createChat.")
class CreateChatPayload:
    chat: Chat | None = strawberry.field(description="The new chat; null on error.")
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.input(description="Archives or unarchives a chat.")
class SetChatArchivedInput:
    chat_id: strawberry.ID = strawberry.field(description="The chat.")
    archived: bool = strawberry.field(description="True to archive, false to unarchive.")


@strawberry.type(description="The result of a change to a chat.")
class SetChatPayload:
    chat: Chat | None = strawberry.field(description="The chat after the change; null on error.")
    errors: list[UserError] = strawberry.field(description=ERRORS)


def _chat(outcome: Outcome[chats.Chat]) -> Chat | None:
    return Chat(domain=outcome.value) if outcome.value else None


@strawberry.type
class ChatMutation:
    @strawberry.mutation(
        description="Creates a chat; a child chat (parentChatId) must have the parent's owner. CHATD or OWNER."
    )
    async def create_chat(
        self, info: Info, input: Annotated[CreateChatInput, strawberry.argument(description="The chat.")]
    ) -> CreateChatPayload:
        require_usage_writer(info.context.principal)
        owner_id = parse_id(input.owner_id, "ownerId")
        organization_id = parse_id(input.organization_id, "organizationId")
        parent_chat_id = parse_id(input.parent_chat_id, "parentChatId") if input.parent_chat_id else None
        outcome = await in_transaction(
            info,
            lambda conn: chats.create_chat(
                conn,
                owner_id=owner_id,
                organization_id=organization_id,
                title=input.title or "",
                parent_chat_id=parent_chat_id,
            ),
        )
        return CreateChatPayload(chat=_chat(outcome), errors=outcome.errors)

    @strawberry.mutation(
        description="Archives or unarchives a chat; archived chats still count toward spend. CHATD or OWNER."
    )
    async def set_chat_archived(
        self,
        info: Info,
        input: Annotated[SetChatArchivedInput, strawberry.argument(description="The change.")],
    ) -> SetChatPayload:
        require_usage_writer(info.context.principal)
        chat_id = parse_id(input.chat_id, "chatId")
        outcome = await in_transaction(
            info, lambda conn: chats.set_chat_archived(conn, chat_id, input.archived)
        )
        return SetChatPayload(chat=_chat(outcome), errors=outcome.errors)
