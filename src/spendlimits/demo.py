"""Sample data for trying the service: ``spendlimits serve --demo``.

Two organizations, groups with and without limits, about fifty users (one owner, one auditor, one
system account), priced and unpriced models, and a few thousand messages over the last 60 days,
with limits switched on ($10 a month by default). Everything has a fixed name or key, so loading
again adds nothing: what exists is left as it is, including limits an operator changed since.
The domain does every write; messages go in batches, so the spend rollup is updated once per batch.

The history is relative to now, and the current period is then topped up so that, whatever the
date (the 1st of a month included), some users stand past the 75% and the 90% warning levels and
some over their limit: the console and the checks have something to show on any day.
"""

import json
import math
import os
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from spendlimits.auth.principal import Role
from spendlimits.auth.tokens import create_token, verify_secret
from spendlimits.directory import chats, groups, members, models, organizations, users
from spendlimits.directory.cost import TokenUsage
from spendlimits.directory.ingest import NewMessage, Recorded, record_messages
from spendlimits.directory.messages import MessageRole
from spendlimits.limits.config import get_config, update_config
from spendlimits.limits.overrides import upsert_group_override, upsert_user_override
from spendlimits.limits.periods import Period
from spendlimits.limits.spend_journal import fold_now
from spendlimits.limits.status import statuses

OWNER = "demo-owner"
AUDITOR = "demo-auditor"
SEED = 20250615
BATCH = 500
#: Demo chats get the UUID uuid5(CHAT_NAMESPACE, "demo-chat-N"): the same on every load.
CHAT_NAMESPACE = uuid.UUID("1c8e3a52-0b7f-5d1e-a6c4-2f9b8d7e6a50")
DEFAULT_LIMIT_MICROS = 10_000_000
#: `serve --demo` keeps the owner token's secret in a file named like the data folder with this
#: suffix (beside it, not in it: initdb wants an empty folder), readable by its owner only, so that
#: loading again shows the same token rather than adding one each time.
DEMO_OWNER_FILE = ".demo-owner.json"
#: Shares of their effective limit that members reach in the current period: two past the 75%
#: warning level, two past 90%, two over the limit.
CURRENT_PERIOD_TARGETS = (0.80, 0.86, 0.92, 0.97, 1.10, 1.30)
#: The largest cost of one top-up message (micro-dollars): 40 cents, a long agent turn.
TOP_UP_MESSAGE_MICROS = 400_000

ORGANIZATIONS = [("acme", "Acme Corp"), ("globex", "Globex Corporation")]
#: (organization, group, display name, monthly limit in micros or None, share of members in it)
GROUPS = [
    ("acme", "engineering", "Engineering", 40_000_000, 0.5),
    ("acme", "design", "Design", None, 0.2),
    ("acme", "interns", "Interns", 5_000_000, 0.15),
    ("globex", "research", "Research", 150_000_000, 0.4),
    ("globex", "support", "Support", None, 0.3),
]
#: (provider, model, prices in micros per million tokens, share of assistant messages)
MODELS = [
    ("anthropic", "claude-sonnet-4-5", models.ModelPrices(3_000_000, 15_000_000, 300_000, 3_750_000), 0.45),
    ("anthropic", "claude-haiku-4-5", models.ModelPrices(1_000_000, 5_000_000, 100_000, 1_250_000), 0.25),
    ("openai", "gpt-4o", models.ModelPrices(2_500_000, 10_000_000, 1_250_000, None), 0.15),
    ("ollama", "qwen2.5-coder-32b", models.ModelPrices(), 0.15),
]
FIRST = ["ada", "alan", "barbara", "brian", "claude", "dennis", "donald", "edsger", "frances", "grace",
         "guido", "hedy", "ivan", "james", "john", "ken", "leslie", "linus", "margaret", "niklaus",
         "radia", "rob", "shafi", "sophie", "tim", "tony", "vint", "whitfield", "yukihiro", "zaha"]  # fmt: skip
LAST = ["allen", "backus", "cerf", "dijkstra", "engelbart", "floyd", "goldwasser", "hamilton",
        "hopper", "iverson", "kay", "knuth", "lamport", "liskov", "lovelace", "mccarthy", "perlman",
        "ritchie", "rossum", "thompson", "torvalds", "turing", "wilson", "wirth"]  # fmt: skip


@dataclass(frozen=True, slots=True)
class DemoSize:
    users: int = 50
    messages: int = 3000
    days: int = 60


@dataclass(frozen=True, slots=True)
class DemoResult:
    owner_token: str
    users: int
    messages_added: int
    messages_present: int


@dataclass(frozen=True, slots=True)
class _Person:
    username: str
    name: str
    role: Role
    is_system: bool
    organizations: tuple[str, ...]
    #: Relative activity: a few people do most of the work.
    weight: float
    own_limit_micros: int | None = None


def _people(rng: random.Random, count: int) -> list[_Person]:
    both = ("acme", "globex")
    people = [
        _Person(OWNER, "Demo Owner", Role.OWNER, False, both, 1.0),
        _Person(AUDITOR, "Demo Auditor", Role.AUDITOR, False, both, 0.5),
        _Person("ci-bot", "CI bot", Role.MEMBER, True, ("acme",), 2.0),
    ]
    names = sorted({f"{f}.{last}" for f in FIRST for last in LAST})
    for rank, username in enumerate(rng.sample(names, max(count - len(people), 0)), start=1):
        first, last = username.split(".")
        homes = rng.choices([("acme",), ("globex",), both], weights=[6, 3, 1])[0]
        # The busiest member has a limit of their own, above the default.
        own_limit = 75_000_000 if rank == 1 else None
        people.append(
            _Person(
                username,
                f"{first.title()} {last.title()}",
                Role.MEMBER,
                False,
                homes,
                8.0 / rank**0.8,
                own_limit,
            )
        )
    return people[:count]


@dataclass(frozen=True, slots=True)
class _Ids:
    users: dict[str, uuid.UUID]
    organizations: dict[str, uuid.UUID]
    #: In the order of MODELS.
    models: list[uuid.UUID]


async def _load_directory(conn: AsyncConnection, rng: random.Random, people: list[_Person]) -> _Ids:
    """Organizations, users, memberships, groups, models and limits, each only if missing."""
    organization_ids = {}
    for name, display_name in ORGANIZATIONS:
        created_organization, _ = await organizations.ensure_organization(
            conn, name=name, display_name=display_name
        )
        organization_ids[name] = created_organization.id
    user_ids = {}
    for person in people:
        user, created = await users.ensure_user(
            conn,
            username=person.username,
            name=person.name,
            email=f"{person.username}@example.com",
            role=person.role,
            is_system=person.is_system,
        )
        user_ids[person.username] = user.id
        for organization in person.organizations:
            await members.add_organization_member(conn, organization_ids[organization], user.id)
        if created and person.own_limit_micros is not None:
            await upsert_user_override(conn, user.id, person.own_limit_micros)
    for organization, name, display_name, limit, share in GROUPS:
        group, created = await groups.ensure_group(
            conn, organization_id=organization_ids[organization], name=name, display_name=display_name
        )
        if created and limit is not None:
            await upsert_group_override(conn, group.id, limit)
        candidates = [p for p in people if organization in p.organizations and not p.is_system]
        chosen = rng.sample(candidates, round(len(candidates) * share))
        await members.add_group_members(conn, group.id, [user_ids[p.username] for p in chosen])
    model_ids = []
    for provider, model, prices, _ in MODELS:
        stored, _ = await models.upsert_model(conn, provider=provider, model=model, prices=prices)
        model_ids.append(stored.id)
    if not (await get_config(conn)).enabled:
        await update_config(conn, spend_limit_micros=DEFAULT_LIMIT_MICROS, period=Period.MONTH)
    return _Ids(users=user_ids, organizations=organization_ids, models=model_ids)


@dataclass(frozen=True, slots=True)
class _Chat:
    id: uuid.UUID
    owner: str
    organization: str
    parent: uuid.UUID | None
    archived: bool
    started: datetime
    weight: float


def _chats(rng: random.Random, people: list[_Person], now: datetime, days: int) -> list[_Chat]:
    found: list[_Chat] = []
    for person in people:
        for _ in range(rng.randint(2, 6)):
            chat_id = uuid.uuid5(CHAT_NAMESPACE, f"demo-chat-{len(found)}")
            started = now - timedelta(days=days) + timedelta(minutes=rng.randrange(0, days * 24 * 60))
            organization = rng.choice(person.organizations)
            found.append(
                _Chat(
                    chat_id, person.username, organization, None, rng.random() < 0.1, started, person.weight
                )
            )
            if rng.random() < 0.25:
                child = uuid.uuid5(CHAT_NAMESPACE, f"demo-chat-{len(found)}")
                found.append(
                    _Chat(child, person.username, organization, chat_id, False, started, person.weight / 2)
                )
    return found


def _messages(
    rng: random.Random, chat_list: list[_Chat], model_ids: list[uuid.UUID], size: DemoSize, now: datetime
) -> list[NewMessage]:
    weights = [c.weight for c in chat_list]
    model_weights = [share for *_, share in MODELS]
    result = []
    for n in range(size.messages):
        chat = rng.choices(chat_list, weights=weights)[0]
        span = max((now - chat.started).total_seconds(), 1.0)
        created_at = (chat.started + timedelta(seconds=rng.uniform(0, span))).replace(microsecond=0)
        key = f"demo-{n}"
        if rng.random() < 0.2:
            result.append(NewMessage(chat.id, MessageRole.USER, created_at=created_at, idempotency_key=key))
            continue
        usage = TokenUsage(
            input_tokens=rng.randint(2_000, 60_000),
            output_tokens=rng.randint(100, 4_000),
            cache_read_tokens=rng.choice([0, rng.randint(10_000, 150_000)]),
            cache_write_tokens=rng.choice([0, rng.randint(1_000, 20_000)]),
        )
        model_id = rng.choices(model_ids, weights=model_weights)[0]
        role = MessageRole.TOOL if rng.random() < 0.1 else MessageRole.ASSISTANT
        result.append(NewMessage(chat.id, role, model_id, usage, created_at=created_at, idempotency_key=key))
    return result


async def load_demo(
    engine: AsyncEngine,
    *,
    size: DemoSize = DemoSize(),
    now: datetime | None = None,
    progress: Callable[[str], None] = lambda _: None,
    keep_token_in: Path | None = None,
) -> DemoResult:
    """Loads the sample (adding only what is missing) and returns an owner token: the one kept in
    ``keep_token_in`` while it still works, else a new one (then kept there)."""
    now = now or datetime.now(UTC)
    # Not for secrets: a fixed seed makes every load generate the same sample.
    rng = random.Random(SEED)  # noqa: S311
    people = _people(rng, size.users)
    progress(f"demo data: {len(people)} users, groups and models")
    async with engine.begin() as conn:
        ids = await _load_directory(conn, rng, people)
        chat_list = _chats(rng, people, now, size.days)
        for chat in chat_list:
            stored, _ = await chats.ensure_chat(
                conn,
                chat_id=chat.id,
                owner_id=ids.users[chat.owner],
                organization_id=ids.organizations[chat.organization],
                title=f"demo chat {chat.id.hex[:6]}",
                parent_chat_id=chat.parent,
                created_at=chat.started,
            )
            if chat.archived and not stored.archived:
                await chats.set_chat_archived(conn, chat.id, True)
        secret = await _owner_secret(conn, ids.users[OWNER], keep_token_in)

    added = present = 0
    batch_messages = _messages(rng, chat_list, ids.models, size, now)
    for start in range(0, len(batch_messages), BATCH):
        async with engine.begin() as conn:
            # The demo's clock is `now` (tests pass a fixed one): createdAt is held to it.
            outcomes = await record_messages(conn, batch_messages[start : start + BATCH], now=now)
        for outcome in outcomes:
            if isinstance(outcome, Recorded) and not outcome.replayed:
                added += 1
            elif isinstance(outcome, Recorded) or outcome.code == "IDEMPOTENCY_CONFLICT":
                # Loaded on an earlier day: same key, other timestamp. It is there already.
                present += 1
            else:
                raise outcome
        progress(f"demo data: {start + len(outcomes):,} of {len(batch_messages):,} messages")
    async with engine.begin() as conn:
        top_ups = await _current_period_top_ups(conn, people, ids, chat_list, now)
        for outcome in await record_messages(conn, top_ups, now=now):
            if isinstance(outcome, Recorded):
                added += 0 if outcome.replayed else 1
                present += 1 if outcome.replayed else 0
            else:
                raise outcome
    # The sample's spend is folded once committed (a fold leaves its own transaction's messages to
    # a later one): a server started on it has nothing to catch up on (spend is exact either way).
    await fold_now(engine)
    return DemoResult(owner_token=secret, users=len(people), messages_added=added, messages_present=present)


async def _owner_secret(conn: AsyncConnection, owner_id: uuid.UUID, keep_in: Path | None) -> str:
    kept = _read_kept(keep_in) if keep_in else None
    # Kept for this database only while it still works there (not revoked, the same owner).
    principal = await verify_secret(conn, kept) if kept else None
    if kept and principal is not None and principal.user_id == owner_id:
        return kept
    created = await create_token(conn, name="demo", user_id=owner_id)
    if keep_in is not None:
        _keep(keep_in, {"token_id": str(created.token.id), "secret": created.secret})
    return created.secret


def _read_kept(path: Path) -> str | None:
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))["secret"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return kept if isinstance(kept, str) else None


def _keep(path: Path, entry: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Created readable by its owner only: it holds an owner's secret.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(entry, out)


async def _current_period_top_ups(
    conn: AsyncConnection, people: list[_Person], ids: _Ids, chat_list: list[_Chat], now: datetime
) -> list[NewMessage]:
    """Messages dated in the current period that bring chosen members to CURRENT_PERIOD_TARGETS.

    Members are taken by limit, then username, skipping any already past the share meant for them; a
    member at it (topped up by an earlier load) keeps it and gets nothing, so loading again in the
    same period adds nothing. The keys name the period, so the next period is topped up afresh.
    """
    members = [p for p in people if p.role is Role.MEMBER and not p.is_system]
    found = await statuses(conn, [(ids.users[p.username], None, now) for p in members], now)
    limited = [
        (state.limit.limit_micros, person.username, person, state)
        for person in members
        if (state := found.get((ids.users[person.username], None, now))) is not None
        and state.limit.limit_micros is not None
        and state.period_start is not None
    ]
    targets = iter(CURRENT_PERIOD_TARGETS)
    target = next(targets)
    result: list[NewMessage] = []
    # The smallest limits first: a few dollars of messages each, not hundreds.
    for limit_micros, _, person, state in sorted(limited, key=lambda entry: entry[:2]):
        assert state.period_start is not None
        goal = math.ceil(limit_micros * target)
        if state.spend_micros > goal + goal // 200:
            # Past the share already, by its own history: the next member gets it.
            continue
        chat = _writable_chat(chat_list, person.username)
        # At the goal already (within the top-up's rounding): topped up by an earlier load.
        result += (
            []
            if state.spend_micros >= goal
            else _top_up(chat, ids.models[0], goal - state.spend_micros, state.period_start, now, person)
        )
        target = next(targets, 0.0)
        if not target:
            break
    return result


def _writable_chat(chat_list: list[_Chat], username: str) -> _Chat:
    own = [c for c in chat_list if c.owner == username]
    return next((c for c in own if not c.archived), own[0])


def _top_up(
    chat: _Chat, model_id: uuid.UUID, micros: int, period_start: datetime, now: datetime, person: _Person
) -> list[NewMessage]:
    """Messages on MODELS[0] costing at least ``micros`` in all (and at most a few micros more),
    spread between the period's start and now."""
    prices = MODELS[0][2]
    input_price, output_price = prices.input or 1, prices.output or 1
    count = math.ceil(micros / TOP_UP_MESSAGE_MICROS)
    span = max(now - period_start, timedelta(0))
    result = []
    for n in range(count):
        # In micros x 1,000,000, as prices are per million tokens; ceil keeps the total at or above
        # the goal. Four fifths reading (input), the rest writing (output).
        cost = min(TOP_UP_MESSAGE_MICROS, micros - n * TOP_UP_MESSAGE_MICROS) * 1_000_000
        input_tokens = -(-cost * 4 // (5 * input_price))
        output_tokens = max(-(-(cost - input_tokens * input_price) // output_price), 0)
        created_at = (period_start + span * (n + 1) / (count + 1)).replace(microsecond=0)
        result.append(
            NewMessage(
                chat.id,
                MessageRole.ASSISTANT,
                model_id,
                TokenUsage(input_tokens=input_tokens, output_tokens=output_tokens),
                created_at=max(created_at, period_start),
                idempotency_key=f"demo-{period_start:%Y%m%d}-{person.username}-{n}",
            )
        )
    return result
