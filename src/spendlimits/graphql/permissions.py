"""The role table of spec section 8, in one place. Resolvers call one of these first."""

import uuid

from spendlimits.auth.principal import Principal, Role
from spendlimits.graphql.errors import Forbidden


def _is(principal: Principal, *roles: Role) -> bool:
    return principal.role in roles


def require_owner(principal: Principal) -> None:
    """Writes to limits, the directory, models and tokens."""
    if not _is(principal, Role.OWNER):
        raise Forbidden("Only an owner can do this.")


def require_config_reader(principal: Principal) -> None:
    """Limit configuration and overrides: OWNER, AUDITOR, CHATD."""
    if not (principal.is_service or _is(principal, Role.OWNER, Role.AUDITOR)):
        raise Forbidden("Only owners, auditors and the chat daemon can read limit configuration.")


def require_directory_reader(principal: Principal) -> None:
    """Other users, groups, organizations, models: OWNER, AUDITOR, CHATD."""
    if not (principal.is_service or _is(principal, Role.OWNER, Role.AUDITOR)):
        raise Forbidden("Members can only read their own data.")


def can_read_user(principal: Principal, user_id: uuid.UUID) -> bool:
    """OWNER, AUDITOR and CHATD read anyone; a MEMBER reads only themselves."""
    return principal.is_service or _is(principal, Role.OWNER, Role.AUDITOR) or principal.user_id == user_id


def require_user_reader(principal: Principal, user_id: uuid.UUID) -> None:
    if not can_read_user(principal, user_id):
        raise Forbidden("Members can only read their own data.")


def require_chat_reader(principal: Principal, owner_id: uuid.UUID) -> None:
    """A chat and its messages: OWNER, AUDITOR and CHATD read any; a MEMBER only their own."""
    if not can_read_user(principal, owner_id):
        raise Forbidden("Members can only read their own chats.")


def require_checker(principal: Principal) -> None:
    """The admission check: CHATD or OWNER."""
    if not (principal.is_service or _is(principal, Role.OWNER)):
        raise Forbidden("Only the chat daemon or an owner can run admission checks.")


def require_usage_writer(principal: Principal) -> None:
    """Chats and messages: CHATD or OWNER."""
    if not (principal.is_service or _is(principal, Role.OWNER)):
        raise Forbidden("Only the chat daemon or an owner can record usage.")


def require_signed_in_user(principal: Principal) -> uuid.UUID:
    """Fields about "me": a user's token, not a service's."""
    if principal.user_id is None:
        raise Forbidden("This field needs a user's token; service tokens have no user.")
    return principal.user_id


def require_insight_reader(principal: Principal) -> None:
    """The admin views of insight (organization and group history, ranking, audit log): OWNER, AUDITOR."""
    if not _is(principal, Role.OWNER, Role.AUDITOR):
        raise Forbidden("Only owners and auditors can read spend insight and the limit audit log.")
