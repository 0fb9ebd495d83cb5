"""``spendlimits import``: backfills from JSON Lines, re-runnable, reporting each rejected line.

Each line is one object with a "type" and that type's fields (docs/operations.md has the format). Lines are
applied in batches, one transaction per batch: every non-message line in a SAVEPOINT of its own,
then the batch's messages in one INSERT (checked first, so a bad message refuses only its own line).
A rejected line never loses the good lines around it.

Everything is keyed by natural keys, so a second run adds nothing: organizations by name, users by
username, groups by organization and name, models by provider and model, chats by their UUID or an
external id (mapped to a fixed UUID), messages by chat and idempotency key.
"""

import json
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from spendlimits.auth.principal import Role
from spendlimits.directory import chats, groups, members, models, organizations, users
from spendlimits.directory.cost import TokenUsage
from spendlimits.directory.ingest import NewMessage, Recorded, record_messages
from spendlimits.directory.messages import MessageRole
from spendlimits.errors import DomainError
from spendlimits.limits import overrides

DEFAULT_BATCH_LINES = 500
#: Chats given by external id get the UUID uuid5(CHAT_NAMESPACE, external id): the same on every run.
CHAT_NAMESPACE = uuid.UUID("6f1d3c2e-8a4b-5c7d-9e0f-1a2b3c4d5e6f")


def chat_id_for(external_id: str) -> uuid.UUID:
    return uuid.uuid5(CHAT_NAMESPACE, external_id)


class Rejected(Exception):
    """A line that cannot be imported; the message is the reason shown to the operator."""


@dataclass
class ImportReport:
    #: Non-blank lines seen.
    read: int = 0
    #: Lines that wrote something.
    new: int = 0
    #: Lines whose data was already there (a re-run).
    unchanged: int = 0
    rejected: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def imported(self) -> int:
        return self.new + self.unchanged

    def status(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        return (
            f"read {self.read:,} lines: {self.imported:,} imported ({self.new:,} new, "
            f"{self.unchanged:,} already present), {self.rejected:,} rejected, {self.read / elapsed:,.0f} lines/s"
        )


class Fields:
    """Typed access to one line's fields; anything not asked for is an unknown field."""

    def __init__(self, obj: dict[str, Any]) -> None:
        self._obj = obj
        self._used = {"type"}

    def _get(self, key: str, required: bool) -> Any:
        self._used.add(key)
        value = self._obj.get(key)
        if value is None and required:
            raise Rejected(f'missing field "{key}"')
        return value

    def text(self, key: str, required: bool = True, default: str = "") -> str:
        value = self._get(key, required)
        if value is None:
            return default
        if not isinstance(value, str):
            raise Rejected(f'"{key}" must be a string')
        return value

    def optional_text(self, key: str) -> str | None:
        value = self._get(key, False)
        if value is not None and not isinstance(value, str):
            raise Rejected(f'"{key}" must be a string')
        return value

    def integer(self, key: str) -> int | None:
        value = self._get(key, False)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise Rejected(f'"{key}" must be a whole number')
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self._get(key, False)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise Rejected(f'"{key}" must be true or false')
        return value

    def uuid(self, key: str) -> uuid.UUID | None:
        value = self.optional_text(key)
        if value is None:
            return None
        try:
            return uuid.UUID(value)
        except ValueError:
            raise Rejected(f'"{key}" must be a UUID') from None

    def timestamp(self, key: str) -> datetime | None:
        value = self.optional_text(key)
        if value is None:
            return None
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise Rejected(f'"{key}" must be an RFC 3339 timestamp') from None
        if parsed.tzinfo is None:
            raise Rejected(f'"{key}" needs a time zone offset (for example Z)')
        return parsed

    def object(self, key: str) -> "Fields | None":
        value = self._get(key, False)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise Rejected(f'"{key}" must be an object')
        return Fields(value)

    def one_of(self, *keys: str) -> str:
        given = [k for k in keys if self._obj.get(k) is not None]
        if len(given) != 1:
            raise Rejected("give exactly one of " + ", ".join(f'"{k}"' for k in keys))
        return given[0]

    def done(self) -> None:
        unknown = sorted(set(self._obj) - self._used)
        if unknown:
            raise Rejected("unknown field(s): " + ", ".join(f'"{k}"' for k in unknown))


#: A parsed non-message line: applies itself and says whether it wrote anything.
Apply = Callable[[AsyncConnection], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class MessageLine:
    chat_id: uuid.UUID
    role: MessageRole
    #: (provider, model), resolved for the whole batch at once.
    model: tuple[str, str] | None
    usage: TokenUsage | None
    total_cost_micros: int | None
    created_at: datetime | None
    idempotency_key: str


async def _organization_id(conn: AsyncConnection, name: str) -> uuid.UUID:
    organization = await organizations.find_organization_by_name(conn, name)
    if organization is None:
        raise Rejected(f"unknown organization {name!r}")
    return organization.id


async def _user_id(conn: AsyncConnection, username: str) -> uuid.UUID:
    user = await users.find_user_by_username(conn, username)
    if user is None:
        raise Rejected(f"unknown user {username!r}")
    return user.id


async def _group_id(conn: AsyncConnection, organization: str, name: str) -> uuid.UUID:
    group = await groups.find_group_by_name(conn, await _organization_id(conn, organization), name)
    if group is None:
        raise Rejected(f"unknown group {name!r} in organization {organization!r}")
    return group.id


def _chat_ref(f: Fields, id_key: str, external_key: str, required: bool) -> uuid.UUID | None:
    if not required and f.optional_text(id_key) is None and f.optional_text(external_key) is None:
        return None
    key = f.one_of(id_key, external_key)
    if key == id_key:
        return f.uuid(id_key)
    return chat_id_for(f.text(external_key))


def _organization(f: Fields) -> Apply:
    name, display_name = f.text("name"), f.text("display_name", required=False)

    async def apply(conn: AsyncConnection) -> bool:
        _, created = await organizations.ensure_organization(conn, name=name, display_name=display_name)
        return created

    return apply


async def _override(
    conn: AsyncConnection,
    limit: int | None,
    stored: int | None,
    subject: uuid.UUID,
    upsert: Callable[[AsyncConnection, uuid.UUID, int | None], Awaitable[object]],
) -> bool:
    """A line's optional spend_limit_micros, set through the same domain function as the API (the
    audit log records it, with no actor: the command line). True when it changed something."""
    if limit is None or limit == stored:
        return False
    try:
        await upsert(conn, subject, limit)
    except DomainError as exc:
        raise Rejected(f'"spend_limit_micros": {exc.message}') from None
    return True


def _user(f: Fields) -> Apply:
    username = f.text("username")
    role_name = f.text("role", required=False, default="member")
    try:
        role = Role(role_name.lower())
    except ValueError:
        raise Rejected('"role" must be owner, auditor or member') from None
    name, email = f.text("name", required=False), f.optional_text("email")
    avatar_url, is_system = f.text("avatar_url", required=False), f.boolean("is_system", False)
    limit = f.integer("spend_limit_micros")

    async def apply(conn: AsyncConnection) -> bool:
        user, created = await users.ensure_user(
            conn,
            username=username,
            role=role,
            name=name,
            email=email,
            avatar_url=avatar_url,
            is_system=is_system,
        )
        return (
            await _override(
                conn, limit, user.chat_spend_limit_micros, user.id, overrides.upsert_user_override
            )
            or created
        )

    return apply


def _membership(f: Fields) -> Apply:
    organization, username = f.text("organization"), f.text("username")

    async def apply(conn: AsyncConnection) -> bool:
        membership = await members.add_organization_member(
            conn, await _organization_id(conn, organization), await _user_id(conn, username)
        )
        return membership.changed

    return apply


def _group(f: Fields) -> Apply:
    organization, name = f.text("organization"), f.text("name")
    display_name, avatar_url = f.text("display_name", required=False), f.text("avatar_url", required=False)

    limit = f.integer("spend_limit_micros")

    async def apply(conn: AsyncConnection) -> bool:
        group, created = await groups.ensure_group(
            conn,
            organization_id=await _organization_id(conn, organization),
            name=name,
            display_name=display_name,
            avatar_url=avatar_url,
        )
        return (
            await _override(
                conn, limit, group.chat_spend_limit_micros, group.id, overrides.upsert_group_override
            )
            or created
        )

    return apply


def _group_member(f: Fields) -> Apply:
    organization, group, username = f.text("organization"), f.text("group"), f.text("username")

    async def apply(conn: AsyncConnection) -> bool:
        change = await members.add_group_members(
            conn, await _group_id(conn, organization, group), [await _user_id(conn, username)]
        )
        return change.changed > 0

    return apply


def _model(f: Fields) -> Apply:
    provider, model, enabled = f.text("provider"), f.text("model"), f.boolean("enabled", True)
    prices = models.ModelPrices(
        input=f.integer("input_price_per_million_tokens"),
        output=f.integer("output_price_per_million_tokens"),
        cache_read=f.integer("cache_read_price_per_million_tokens"),
        cache_write=f.integer("cache_write_price_per_million_tokens"),
    )

    async def apply(conn: AsyncConnection) -> bool:
        _, changed = await models.upsert_model(
            conn, provider=provider, model=model, enabled=enabled, prices=prices
        )
        return changed

    return apply


def _chat(f: Fields) -> Apply:
    chat_id = _chat_ref(f, "id", "external_id", required=True)
    parent_id = _chat_ref(f, "parent_id", "parent_external_id", required=False)
    owner, organization = f.text("owner"), f.text("organization")
    title, archived, created_at = (
        f.text("title", required=False),
        f.boolean("archived", False),
        f.timestamp("created_at"),
    )

    async def apply(conn: AsyncConnection) -> bool:
        chat, created = await chats.ensure_chat(
            conn,
            chat_id=chat_id,
            owner_id=await _user_id(conn, owner),
            organization_id=await _organization_id(conn, organization),
            title=title,
            parent_chat_id=parent_id,
            created_at=created_at,
        )
        if chat.archived != archived:
            await chats.set_chat_archived(conn, chat.id, archived)
            return True
        return created

    return apply


def _message(f: Fields) -> MessageLine:
    chat_id = _chat_ref(f, "chat_id", "chat_external_id", required=True)
    assert chat_id is not None, "a required reference is never None"
    role_name = f.text("role")
    try:
        role = MessageRole(role_name.lower())
    except ValueError:
        raise Rejected('"role" must be system, user, assistant or tool') from None
    provider, model = f.optional_text("provider"), f.optional_text("model")
    if (provider is None) != (model is None):
        raise Rejected('give both "provider" and "model", or neither')
    usage_fields = f.object("usage")
    usage = None
    if usage_fields is not None:
        usage = TokenUsage(
            input_tokens=usage_fields.integer("input_tokens") or 0,
            output_tokens=usage_fields.integer("output_tokens") or 0,
            cache_read_tokens=usage_fields.integer("cache_read_tokens") or 0,
            cache_write_tokens=usage_fields.integer("cache_write_tokens") or 0,
        )
        usage_fields.done()
    return MessageLine(
        chat_id=chat_id,
        role=role,
        model=(provider, model) if provider is not None and model is not None else None,
        usage=usage,
        total_cost_micros=f.integer("total_cost_micros"),
        created_at=f.timestamp("created_at"),
        idempotency_key=f.text("idempotency_key"),
    )


_PARSERS: dict[str, Callable[[Fields], Apply]] = {
    "organization": _organization,
    "user": _user,
    "membership": _membership,
    "group": _group,
    "group_member": _group_member,
    "model": _model,
    "chat": _chat,
}
TYPES = [*_PARSERS, "message"]


def parse_line(raw: str) -> Apply | MessageLine:
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise Rejected(f"not valid JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(obj, dict):
        raise Rejected("a line must be a JSON object")
    kind = obj.get("type")
    if kind not in TYPES:
        raise Rejected(f'"type" must be one of {", ".join(TYPES)}; got {kind!r}')
    f = Fields(obj)
    parsed = _message(f) if kind == "message" else _PARSERS[kind](f)
    f.done()
    return parsed


def _batches(lines: Iterable[str], size: int) -> Iterator[list[tuple[int, str]]]:
    batch: list[tuple[int, str]] = []
    for number, raw in enumerate(lines, start=1):
        if raw.strip():
            batch.append((number, raw))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class Importer:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        on_rejected: Callable[[int, str], None],
        on_batch: Callable[[ImportReport], None],
        batch_lines: int = DEFAULT_BATCH_LINES,
    ) -> None:
        self._engine = engine
        self._on_rejected = on_rejected
        self._on_batch = on_batch
        self._batch_lines = batch_lines
        self.report = ImportReport()

    async def run(self, lines: Iterable[str]) -> ImportReport:
        for batch in _batches(lines, self._batch_lines):
            async with self._engine.begin() as conn:
                await self._apply_batch(conn, batch)
            self._on_batch(self.report)
        return self.report

    def _reject(self, line: int, reason: str) -> None:
        self.report.rejected += 1
        self._on_rejected(line, reason)

    def _count(self, wrote: bool) -> None:
        if wrote:
            self.report.new += 1
        else:
            self.report.unchanged += 1

    async def _apply_batch(self, conn: AsyncConnection, batch: list[tuple[int, str]]) -> None:
        messages: list[tuple[int, MessageLine]] = []
        for line, raw in batch:
            self.report.read += 1
            try:
                parsed = parse_line(raw)
                if isinstance(parsed, MessageLine):
                    messages.append((line, parsed))
                    continue
                async with conn.begin_nested():
                    wrote = await parsed(conn)
            except Rejected as exc:
                self._reject(line, str(exc))
            except DomainError as exc:
                self._reject(line, exc.message)
            except (IntegrityError, DataError) as exc:
                # The SAVEPOINT is rolled back; the database's own reason is the clearest one.
                self._reject(line, f"refused by the database: {str(exc.orig).splitlines()[0]}")
            else:
                self._count(wrote)
        if messages:
            await self._apply_messages(conn, messages)

    async def _apply_messages(self, conn: AsyncConnection, lines: list[tuple[int, MessageLine]]) -> None:
        names = list({m.model for _, m in lines if m.model is not None})
        found = await models.find_models_by_name(conn, names) if names else {}
        ready: list[tuple[int, NewMessage]] = []
        for line, m in lines:
            model = found.get(m.model) if m.model is not None else None
            if m.model is not None and model is None:
                self._reject(line, f"unknown model {m.model[0]}/{m.model[1]}")
                continue
            ready.append(
                (
                    line,
                    NewMessage(
                        chat_id=m.chat_id,
                        role=m.role,
                        model_id=model.id if model else None,
                        usage=m.usage,
                        total_cost_micros=m.total_cost_micros,
                        created_at=m.created_at,
                        idempotency_key=m.idempotency_key,
                    ),
                )
            )
        outcomes = await record_messages(conn, [message for _, message in ready])
        for (line, _), outcome in zip(ready, outcomes, strict=True):
            if isinstance(outcome, Recorded):
                self._count(not outcome.replayed)
            else:
                self._reject(line, outcome.message)
