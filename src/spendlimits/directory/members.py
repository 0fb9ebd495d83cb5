"""Who belongs where: organization members and explicit group members.

An organization's Everyone group stores no members: its members are the organization's. The
database refuses a group member outside the group's organization; to keep that true under
concurrency, adding group members locks the organization memberships and users it relies on
(FOR SHARE), so a concurrent removal or user deletion either waits for the addition and then
removes what it added, or goes first and makes the addition fail cleanly.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from spendlimits.directory.groups import Group, get_groups
from spendlimits.directory.organizations import Organization, get_organizations
from spendlimits.directory.users import COLUMNS as USER_COLUMNS
from spendlimits.directory.users import User, get_users, user_from_row
from spendlimits.errors import DomainError

#: Upper bound on the users one group-membership call may name.
MAX_USERS_PER_CALL = 1000


@dataclass(frozen=True, slots=True)
class OrganizationMembership:
    organization: Organization
    user: User
    #: False when there was nothing to do (already a member, or already not one).
    changed: bool


@dataclass(frozen=True, slots=True)
class GroupMembershipChange:
    group: Group
    #: How many memberships were added or removed; users already in (or out) do not count.
    changed: int


async def _organization(conn: AsyncConnection, organization_id: uuid.UUID, field: list[str]) -> Organization:
    organization = (await get_organizations(conn, [organization_id])).get(organization_id)
    if organization is None:
        raise DomainError("ORGANIZATION_NOT_FOUND", "Organization not found.", field)
    return organization


async def add_organization_member(
    conn: AsyncConnection, organization_id: uuid.UUID, user_id: uuid.UUID
) -> OrganizationMembership:
    """Adds a live user to an organization (and so to its Everyone group); adding twice is harmless."""
    organization = await _organization(conn, organization_id, ["input", "organizationId"])
    # FOR SHARE: a concurrent deletion of the user waits, then sees (and removes) this membership.
    row = (
        await conn.execute(
            text(f"SELECT {USER_COLUMNS} FROM users WHERE id = :id AND NOT deleted FOR SHARE"),
            {"id": user_id},
        )
    ).one_or_none()
    if row is None:
        raise DomainError("USER_NOT_FOUND", "User not found.", ["input", "userId"])
    added = await conn.scalar(
        text(
            """
            INSERT INTO organization_members (organization_id, user_id) VALUES (:organization_id, :user_id)
            ON CONFLICT DO NOTHING RETURNING true
            """
        ),
        {"organization_id": organization_id, "user_id": user_id},
    )
    return OrganizationMembership(organization=organization, user=user_from_row(row), changed=bool(added))


async def join_organizations(
    conn: AsyncConnection, user_id: uuid.UUID, organization_ids: Sequence[uuid.UUID], field: list[str]
) -> None:
    """Makes a user a member of every listed organization; an unknown one fails the whole call."""
    found = await get_organizations(conn, list(set(organization_ids)))
    for index, organization_id in enumerate(organization_ids):
        if organization_id not in found:
            raise DomainError("ORGANIZATION_NOT_FOUND", "Organization not found.", [*field, str(index)])
    await conn.execute(
        text(
            """
            INSERT INTO organization_members (organization_id, user_id)
            SELECT o.id, :user_id FROM unnest(CAST(:ids AS uuid[])) AS o(id)
            ON CONFLICT DO NOTHING
            """
        ),
        {"user_id": user_id, "ids": list(organization_ids)},
    )


async def remove_organization_member(
    conn: AsyncConnection, organization_id: uuid.UUID, user_id: uuid.UUID
) -> OrganizationMembership:
    """Removes a user from an organization and from that organization's groups.

    The database allows no group member outside the group's organization, so the explicit group
    memberships go too. Removing a non-member is harmless.
    """
    organization = await _organization(conn, organization_id, ["input", "organizationId"])
    user = (await get_users(conn, [user_id])).get(user_id)
    if user is None:
        raise DomainError("USER_NOT_FOUND", "User not found.", ["input", "userId"])
    removed = await conn.scalar(
        text(
            """
            DELETE FROM organization_members WHERE organization_id = :organization_id AND user_id = :user_id
            RETURNING true
            """
        ),
        {"organization_id": organization_id, "user_id": user_id},
    )
    # A second statement, so its snapshot includes group memberships added by transactions that
    # held the membership row (FOR SHARE) until the DELETE above could proceed.
    await conn.execute(
        text(
            """
            DELETE FROM group_members gm USING groups g
            WHERE g.id = gm.group_id AND g.organization_id = :organization_id AND gm.user_id = :user_id
            """
        ),
        {"organization_id": organization_id, "user_id": user_id},
    )
    return OrganizationMembership(organization=organization, user=user, changed=bool(removed))


async def _editable_group(conn: AsyncConnection, group_id: uuid.UUID, user_ids: Sequence[uuid.UUID]) -> Group:
    group = (await get_groups(conn, [group_id])).get(group_id)
    if group is None:
        raise DomainError("GROUP_NOT_FOUND", "Group not found.", ["input", "groupId"])
    if group.is_everyone:
        raise DomainError(
            "INVALID_INPUT",
            "The Everyone group cannot be edited: its members are the organization's members. "
            "Add or remove organization members instead.",
            ["input", "groupId"],
        )
    if len(user_ids) > MAX_USERS_PER_CALL:
        raise DomainError(
            "INVALID_INPUT", f"Give at most {MAX_USERS_PER_CALL} users per call.", ["input", "userIds"]
        )
    return group


async def add_group_members(
    conn: AsyncConnection, group_id: uuid.UUID, user_ids: Sequence[uuid.UUID]
) -> GroupMembershipChange:
    """Adds live members of the group's organization to a group; all or nothing."""
    group = await _editable_group(conn, group_id, user_ids)
    unique_ids = sorted(set(user_ids))
    eligible = set(
        (
            await conn.execute(
                text(
                    """
                    SELECT om.user_id
                    FROM organization_members om JOIN users u ON u.id = om.user_id
                    WHERE om.organization_id = :organization_id AND om.user_id = ANY(:ids) AND NOT u.deleted
                    ORDER BY om.user_id
                    FOR SHARE
                    """
                ),
                {"organization_id": group.organization_id, "ids": unique_ids},
            )
        ).scalars()
    )
    if len(eligible) < len(unique_ids):
        live = {
            u.id
            for u in (await get_users(conn, [i for i in unique_ids if i not in eligible])).values()
            if not u.deleted
        }
        for index, user_id in enumerate(user_ids):
            if user_id in eligible:
                continue
            field = ["input", "userIds", str(index)]
            if user_id not in live:
                raise DomainError("USER_NOT_FOUND", "User not found.", field)
            raise DomainError(
                "INVALID_INPUT", "Group members must be members of the group's organization.", field
            )
    added = await conn.execute(
        text(
            """
            INSERT INTO group_members (group_id, user_id)
            SELECT :group_id, u.id FROM unnest(CAST(:ids AS uuid[])) AS u(id)
            ON CONFLICT DO NOTHING RETURNING user_id
            """
        ),
        {"group_id": group_id, "ids": unique_ids},
    )
    return GroupMembershipChange(group=group, changed=len(added.all()))


async def remove_group_members(
    conn: AsyncConnection, group_id: uuid.UUID, user_ids: Sequence[uuid.UUID]
) -> GroupMembershipChange:
    """Removes users from a group; users not in it are ignored, unknown ids fail the whole call."""
    group = await _editable_group(conn, group_id, user_ids)
    unique_ids = sorted(set(user_ids))
    known = await get_users(conn, unique_ids)
    for index, user_id in enumerate(user_ids):
        if user_id not in known:
            raise DomainError("USER_NOT_FOUND", "User not found.", ["input", "userIds", str(index)])
    removed = await conn.execute(
        text(
            "DELETE FROM group_members WHERE group_id = :group_id AND user_id = ANY(:ids) RETURNING user_id"
        ),
        {"group_id": group_id, "ids": unique_ids},
    )
    return GroupMembershipChange(group=group, changed=len(removed.all()))
