"""Reading the directory: users, groups, organizations, chat models and chats.

OWNER, AUDITOR and CHATD read everything. A MEMBER reads their own user (here or as ``viewer``),
its organizations and groups, and their own chats; every list and every other object is FORBIDDEN.
Unknown ids give null; ids that are not UUIDs are BAD_USER_INPUT.
"""

from typing import Annotated

import strawberry

from spendlimits.directory.groups import count_groups, groups_page
from spendlimits.directory.models import list_models
from spendlimits.directory.organizations import list_organizations
from spendlimits.directory.users import count_users, users_page
from spendlimits.graphql.context import Info
from spendlimits.graphql.errors import parse_id
from spendlimits.graphql.pagination import page_request, selects
from spendlimits.graphql.permissions import (
    require_chat_reader,
    require_directory_reader,
    require_user_reader,
)
from spendlimits.graphql.types.chat import Chat
from spendlimits.graphql.types.chat_model import ChatModel
from spendlimits.graphql.types.group import Group, GroupConnection
from spendlimits.graphql.types.organization import Organization
from spendlimits.graphql.types.user import User, UserConnection

First = Annotated[int | None, strawberry.argument(description="Page size, 1 to 500.")]
After = Annotated[str | None, strawberry.argument(description="The endCursor of the previous page.")]


@strawberry.type
class DirectoryQuery:
    @strawberry.field(
        description="A user by id; null when unknown. OWNER, AUDITOR, CHATD: anyone; MEMBER: only themselves."
    )
    async def user(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="The user's id.")]
    ) -> User | None:
        user_id = parse_id(id)
        require_user_reader(info.context.principal, user_id)
        user = await info.context.loaders.user.load(user_id)
        return User(domain=user) if user else None

    @strawberry.field(
        description=(
            "Users ordered by username. OWNER, AUDITOR, CHATD. search matches username, name or email."
        )
    )
    async def users(
        self,
        info: Info,
        first: First = 50,
        after: After = None,
        search: Annotated[
            str | None,
            strawberry.argument(
                description="Part of a username, name or email, case-insensitive; blank matches everyone."
            ),
        ] = None,
        include_deleted: Annotated[
            bool, strawberry.argument(description="Also list soft-deleted users (default: live users only).")
        ] = False,
    ) -> UserConnection:
        require_directory_reader(info.context.principal)
        request = page_request(first, after, keyset=True)
        async with info.context.engine.connect() as conn:
            page = await users_page(
                conn,
                limit=request.limit,
                after=request.after_key,
                offset=request.offset,
                search=search,
                include_deleted=include_deleted,
            )
            # Never selected, never counted: the page alone is O(page size).
            total = (
                await count_users(conn, search=search, include_deleted=include_deleted)
                if selects(info, "totalCount")
                else -1
            )
        last = page.items[-1] if page.items else None
        return UserConnection(
            nodes=[User(domain=u) for u in page.items],
            page_info=request.keyset_page_info((last.username, last.id) if last else None, page.has_more),
            total_count=total,
        )

    @strawberry.field(description="A group by id; null when unknown. OWNER, AUDITOR, CHATD.")
    async def group(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="The group's id.")]
    ) -> Group | None:
        group_id = parse_id(id)
        require_directory_reader(info.context.principal)
        group = await info.context.loaders.group.load(group_id)
        return Group(domain=group) if group else None

    @strawberry.field(description="Groups ordered by name, Everyone groups included. OWNER, AUDITOR, CHATD.")
    async def groups(
        self,
        info: Info,
        organization_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only groups of this organization; omitted means all."),
        ] = None,
        first: First = 50,
        after: After = None,
    ) -> GroupConnection:
        organization = None if organization_id is None else parse_id(organization_id, "organizationId")
        require_directory_reader(info.context.principal)
        request = page_request(first, after, keyset=True)
        async with info.context.engine.connect() as conn:
            page = await groups_page(
                conn,
                limit=request.limit,
                after=request.after_key,
                offset=request.offset,
                organization_id=organization,
            )
            total = (
                await count_groups(conn, organization_id=organization) if selects(info, "totalCount") else -1
            )
        last = page.items[-1] if page.items else None
        return GroupConnection(
            nodes=[Group(domain=g) for g in page.items],
            page_info=request.keyset_page_info((last.name, last.id) if last else None, page.has_more),
            total_count=total,
        )

    @strawberry.field(description="An organization by id; null when unknown. OWNER, AUDITOR, CHATD.")
    async def organization(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The organization's id.")],
    ) -> Organization | None:
        organization_id = parse_id(id)
        require_directory_reader(info.context.principal)
        organization = await info.context.loaders.organization.load(organization_id)
        return Organization(domain=organization) if organization else None

    @strawberry.field(description="Every organization, ordered by name. OWNER, AUDITOR, CHATD.")
    async def organizations(self, info: Info) -> list[Organization]:
        require_directory_reader(info.context.principal)
        async with info.context.engine.connect() as conn:
            found = await list_organizations(conn)
        return [Organization(domain=o) for o in found]

    @strawberry.field(
        description=(
            "Configured chat models with their prices, disabled ones included, ordered by provider "
            "and model. OWNER, AUDITOR, CHATD."
        )
    )
    async def chat_models(self, info: Info) -> list[ChatModel]:
        require_directory_reader(info.context.principal)
        async with info.context.engine.connect() as conn:
            found = await list_models(conn)
        return [ChatModel(domain=m) for m in found]

    @strawberry.field(
        description="A chat by id; null when unknown. OWNER, AUDITOR, CHATD: any chat; MEMBER: their own."
    )
    async def chat(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="The chat's id.")]
    ) -> Chat | None:
        chat = await info.context.loaders.chat.load(parse_id(id))
        if chat is None:
            return None
        require_chat_reader(info.context.principal, chat.owner_id)
        return Chat(domain=chat)
