"""The spend ranking (insight.ranking), called directly: both orders, the share filter, the
organization scope, deleted users, paging, and the by-spend statement agreeing with the general one."""

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.insight import ranking as ranking_module
from spendlimits.insight.ranking import (
    RankingOrder,
    RankingRequest,
    general_ranking,
    pruned_ranking,
    ranking,
    uses_resolution,
)
from spendlimits.limits.periods import Period
from tests.limits.factories import LimitFactory

AT = datetime(2025, 6, 15, 12, tzinfo=UTC)
IN_JUNE = datetime(2025, 6, 3, tzinfo=UTC)
IN_MAY = datetime(2025, 5, 30, tzinfo=UTC)
IN_JULY = datetime(2025, 7, 1, tzinfo=UTC)


@pytest.fixture
def make(engine: AsyncEngine) -> LimitFactory:
    return LimitFactory(engine)


async def rank(engine: AsyncEngine, **kw: object) -> tuple[list[tuple[uuid.UUID, int, float | None]], int]:
    kw.setdefault("limit", 50)
    kw.setdefault("offset", 0)
    async with engine.connect() as conn:
        page = await ranking(conn, at=AT, **kw)  # type: ignore[arg-type]  # each test passes ranking's own keywords
    return [(r.user_id, r.spend_micros, r.share_of_limit) for r in page.items], page.total_count


async def world(make: LimitFactory) -> dict[str, uuid.UUID]:
    """Default 100 a month; bob has his own 1000; carol is in a 50 group of org a; dave is deleted."""
    a, b = await make.organization("a"), await make.organization("b")
    ids = {"a": a, "b": b}
    for name in ("alice", "bob", "carol", "dave", "erin"):
        ids[name] = await make.user(name, organizations=(a, b) if name != "erin" else (b,))
    await make.enable(100, Period.MONTH)
    await make.user_override(ids["bob"], 1000)
    await make.limited_group(a, "small", 50, (ids["carol"],))
    await make.spend(ids["alice"], a, 60, at=IN_JUNE)
    await make.spend(ids["bob"], a, 300, at=IN_JUNE)
    await make.spend(ids["carol"], a, 30, at=IN_JUNE)
    await make.spend(ids["carol"], b, 40, at=IN_JUNE)
    await make.spend(ids["carol"], a, 999, at=IN_MAY)  # another period
    await make.spend(ids["dave"], a, 5000, at=IN_JUNE)
    await make.spend(ids["erin"], b, None, at=IN_JUNE)  # unpriced
    await make.delete_user(ids["dave"])
    return ids


async def test_by_spend_highest_first_ties_by_username_deleted_left_out(
    engine: AsyncEngine, make: LimitFactory
) -> None:
    ids = await world(make)
    ranked, total = await rank(engine)
    assert [(r[0], r[1]) for r in ranked] == [
        (ids["bob"], 300),
        (ids["carol"], 70),
        (ids["alice"], 60),
        (ids["erin"], 0),
    ]
    assert total == 4


async def test_by_share_of_limit_with_unlimited_users_last(engine: AsyncEngine, make: LimitFactory) -> None:
    ids = await world(make)
    ranked, _ = await rank(engine, order=RankingOrder.SHARE_OF_LIMIT_DESC)
    # carol: 70 of 50 = 1.4 (her group limit, no organization: all spend); alice 0.6; bob 0.3.
    assert [(r[0], r[2]) for r in ranked] == [
        (ids["carol"], 1.4),
        (ids["alice"], 0.6),
        (ids["bob"], 0.3),
        (ids["erin"], 0.0),
    ]


async def test_min_share_keeps_users_at_or_above_it(engine: AsyncEngine, make: LimitFactory) -> None:
    ids = await world(make)
    ranked, total = await rank(engine, min_share=0.6)
    assert [r[0] for r in ranked] == [ids["carol"], ids["alice"]]
    assert total == 2


async def test_an_organization_ranks_its_members_with_statuses_scoped_to_it(
    engine: AsyncEngine, make: LimitFactory
) -> None:
    ids = await world(make)
    ranked, total = await rank(engine, organization_id=ids["a"], order=RankingOrder.SHARE_OF_LIMIT_DESC)
    # In org a carol's group limit wins and counts org a's chats only: 30 of 50.
    assert [(r[0], r[1], r[2]) for r in ranked] == [
        (ids["alice"], 60, 0.6),
        (ids["carol"], 30, 0.6),
        (ids["bob"], 300, 0.3),
    ]
    assert total == 3
    ranked_b, _ = await rank(engine, organization_id=ids["b"])
    assert [r[0] for r in ranked_b] == [ids["bob"], ids["carol"], ids["alice"], ids["erin"]]


async def test_while_limits_are_off_everyone_has_spent_nothing_and_is_unlimited(
    engine: AsyncEngine, make: LimitFactory
) -> None:
    ids = await world(make)
    await make.disable()
    by_spend, _ = await rank(engine)
    assert by_spend == [(ids[n], 0, None) for n in ("alice", "bob", "carol", "erin")]
    by_share, _ = await rank(engine, order=RankingOrder.SHARE_OF_LIMIT_DESC)
    assert by_share == [(ids[n], 0, None) for n in ("alice", "bob", "carol", "erin")]
    assert (await rank(engine, min_share=0.0))[1] == 0


async def test_pages_follow_one_another(engine: AsyncEngine, make: LimitFactory) -> None:
    ids = await world(make)
    first, total = await rank(engine, limit=2)
    second, _ = await rank(engine, limit=2, offset=2)
    assert [r[0] for r in first + second] == [ids["bob"], ids["carol"], ids["alice"], ids["erin"]]
    assert total == 4


async def test_the_by_spend_statement_ranks_as_the_general_one_does(
    engine: AsyncEngine, make: LimitFactory
) -> None:
    await world(make)
    assert not uses_resolution(RankingOrder.SPEND_DESC, None, None)
    assert uses_resolution(RankingOrder.SPEND_DESC, None, 0.0)
    fast, fast_total = await rank(engine)
    # min_share 0 keeps every limited user (all of them, limits being on) but takes the general path.
    general, general_total = await rank(engine, min_share=0.0)
    assert [r[:2] for r in fast] == [r[:2] for r in general]
    assert fast_total == general_total


async def world_of_spenders(make: LimitFactory, count: int) -> dict[str, uuid.UUID]:
    """Everyone spends (so the first pages never reach a key of 0); limits of every tier."""
    a, b = await make.organization("a"), await make.organization("b")
    await make.enable(1000, Period.MONTH)
    ids = {"a": a, "b": b}
    users = [await make.user(f"user{i:02}", organizations=(a, b) if i % 3 else (a,)) for i in range(count)]
    await make.limited_group(a, "half", 400, tuple(users[1::2]))
    await make.group_override(b, 5000)
    for i, user in enumerate(users):
        ids[f"user{i:02}"] = user
        if i % 5 == 0:
            await make.user_override(user, 200 + 10 * i)
        await make.spend(user, a, (i * 37) % 300 + 1, at=IN_JUNE)
        await make.spend(user, b, (i * 53) % 200 + 1, at=IN_JUNE)
    return ids


@pytest.mark.parametrize("order", list(RankingOrder))
async def test_the_pruned_ranking_is_the_general_one_on_every_page_filter_and_scope(
    engine: AsyncEngine, make: LimitFactory, order: RankingOrder
) -> None:
    ids = await world_of_spenders(make, 24)
    decided = 0
    async with engine.connect() as conn:
        for organization in (None, ids["a"], ids["b"]):
            for min_share in (None, 0.25, 0.6):
                for limit, offset in ((5, 0), (5, 5), (7, 14), (50, 0)):
                    request = RankingRequest(order, organization, min_share, AT, limit, offset)
                    pruned = await pruned_ranking(conn, request)
                    general = await general_ranking(conn, request)
                    if pruned is not None:
                        decided += 1
                        assert pruned == general, (organization, min_share, limit, offset)
    # Most requests must be answered by pruning, or this test would check nothing.
    assert decided >= 24


async def test_equal_shares_go_to_the_higher_spend_first_in_every_path(
    engine: AsyncEngine, make: LimitFactory
) -> None:
    a = await make.organization("a")
    await make.enable(100, Period.MONTH)
    amy = await make.user("amy", organizations=(a,))
    zed = await make.user("zed", organizations=(a,))
    await make.user_override(zed, 400)
    await make.spend(amy, a, 50, at=IN_JUNE)
    await make.spend(zed, a, 200, at=IN_JUNE)
    request = RankingRequest(RankingOrder.SHARE_OF_LIMIT_DESC, None, None, AT, 1, 0)
    async with engine.connect() as conn:
        pruned = await pruned_ranking(conn, request)
        general = await general_ranking(conn, request)
    assert pruned is not None
    assert [r.user_id for r in pruned.items] == [r.user_id for r in general.items] == [zed]


async def fold(engine: AsyncEngine) -> int:
    """What the server does in the background: the journal into the folded rows."""
    async with engine.begin() as conn:
        moved = await conn.scalar(text("SELECT spendlimits_fold_spend_journal()"))
    assert moved is not None
    return int(moved)


async def execute(engine: AsyncEngine, sql: str, **params: object) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(sql), params)


#: When the spend of world_of_journal is folded: never (all of it in the journal), between its two
#: phases (the first folded, the second, with its negative deltas, in the journal), or after both.
FOLDS = ("never", "between", "after")


async def world_of_journal(make: LimitFactory, engine: AsyncEngine, folds: str) -> dict[str, uuid.UUID]:
    """Many users with equal spend (ties broken by username, created out of name order), reached in
    four ways that put it in the folded rows and the journal differently, a deleted big spender, a
    user whose spend was deleted back to 0, spend of the months before and after, users who spent
    nothing; limits of every tier.

    The first phase writes; then (``folds`` "between" or "after") a fold; the second phase writes
    again, lowers costs and deletes messages (negative journal rows against folded spend); then
    ("after") another fold. The four ways to a user's final spend ``target``:

    - one message of ``target``, in the first phase;
    - 10 in the first phase, ``target - 10`` in the second (in another organization's chat when the
      user has one): folded low, lifted by the journal, so the top of the folded index does not
      show them;
    - a message of ``target + 1000`` in the first phase, its cost lowered to ``target`` in the
      second: folded high, taken down by a negative delta;
    - ``target`` and 700 in the first phase, the 700 message deleted in the second.
    """
    a, b = await make.organization("a"), await make.organization("b")
    await make.enable(1000, Period.MONTH)
    ids = {"a": a, "b": b}
    # The second phase: (what, the chat or message, the cost).
    second: list[tuple[str, uuid.UUID, int]] = []
    for i in reversed(range(36)):
        name = f"user{i:02}"
        user = await make.user(name, organizations=(a, b) if i % 3 else (b,))
        ids[name] = user
        if i % 6 == 5:
            continue  # spent nothing
        home = a if i % 3 else b
        chat = await make.chat(user, home)
        target = 120 * (i % 5 + 1)  # five levels of spend, each shared by several users
        way = i % 4
        if way == 0:
            await make.message(chat, target, created_at=IN_JUNE)
        elif way == 1:
            await make.message(chat, 10, created_at=IN_JUNE)
            other = await make.chat(user, b if home == a else a) if i % 3 else chat
            second.append(("message", other, target - 10))
        elif way == 2:
            message = await make.message(chat, target + 1000, created_at=IN_JUNE)
            second.append(("update", message, target))
        else:
            await make.message(chat, target, created_at=IN_JUNE)
            extra = await make.message(chat, 700, created_at=IN_JUNE)
            second.append(("delete", extra, 0))
        if i % 7 == 0:
            await make.user_override(user, 200 + 10 * i)
    await make.limited_group(a, "half", 400, tuple(ids[f"user{i:02}"] for i in range(1, 36, 2) if i % 3))
    gone = await make.user("gone", organizations=(a,))
    gone_chat = await make.spend(gone, a, 10_000, at=IN_JUNE)
    zero = await make.user("aaa-zero", organizations=(a,))
    zero_chat = await make.spend(zero, a, 500, at=IN_JUNE)

    if folds != "never":
        assert await fold(engine) > 0
    for kind, row, cost in second:
        if kind == "message":
            await make.message(row, cost, created_at=IN_JUNE)
        elif kind == "update":
            await execute(
                engine, "UPDATE chat_messages SET total_cost_micros = :cost WHERE id = :id", id=row, cost=cost
            )
        else:
            await execute(engine, "DELETE FROM chat_messages WHERE id = :id", id=row)
    await make.message(gone_chat, 5_000, created_at=IN_JUNE)
    await make.delete_user(gone)
    await execute(engine, "DELETE FROM chat_messages WHERE chat_id = :chat", chat=zero_chat)
    # Other months' spend, in the journal until the last fold: it must not count in June.
    await make.spend(ids["user01"], a, 100_000, at=IN_MAY)
    await make.spend(ids["user02"], a, 100_000, at=IN_JULY)
    if folds == "after":
        assert await fold(engine) > 0

    async with engine.connect() as conn:
        journal = await conn.scalar(text("SELECT count(*) FROM chat_spend_journal"))
        negative = await conn.scalar(text("SELECT count(*) FROM chat_spend_journal WHERE delta_micros < 0"))
        folded = await conn.scalar(text("SELECT count(*) FROM chat_spend_period_totals_folded"))
    # The world is what the test says it is: spend in the journal only, in both, or folded only.
    if folds == "after":
        assert journal == 0 and folded
    else:
        assert negative and (folds == "never") == (folded == 0)
    return ids


PAGES = ((5, 0), (5, 5), (7, 14), (10, 25), (6, 30), (50, 0), (4, 40))


@pytest.mark.parametrize("folds", FOLDS)
async def test_by_spend_needs_several_rounds_of_the_threshold_scan_and_ranks_as_the_general_one(
    engine: AsyncEngine, make: LimitFactory, monkeypatch: pytest.MonkeyPatch, folds: str
) -> None:
    await world_of_journal(make, engine, folds)
    rounds: list[int] = []
    real = ranking_module._spenders

    async def counted(*args: Any, **kw: Any) -> Any:
        rounds.append(kw["scan"])
        return await real(*args, **kw)

    monkeypatch.setattr(ranking_module, "SCAN_ROWS", 1)
    monkeypatch.setattr(ranking_module, "SCAN_PER_RANK", 1)
    monkeypatch.setattr(ranking_module, "_spenders", counted)
    async with engine.connect() as conn:
        most = 0
        for limit, offset in PAGES:
            rounds.clear()
            fast = await ranking(conn, at=AT, limit=limit, offset=offset)
            general = await general_ranking(
                conn, RankingRequest(RankingOrder.SPEND_DESC, None, None, AT, limit, offset)
            )
            assert [(r.user_id, r.spend_micros) for r in fast.items] == [
                (r.user_id, r.spend_micros) for r in general.items
            ], (limit, offset)
            assert fast.total_count == general.total_count == 37
            most = max(most, len(rounds))
    # Ties at the page's edge keep the scan going: this test would check one round only otherwise.
    # With nothing folded there is nothing to scan: every spender is in the journal, seen at once.
    assert most >= (1 if folds == "never" else 2)


@pytest.mark.parametrize("folds", FOLDS)
@pytest.mark.parametrize("order", list(RankingOrder))
@pytest.mark.parametrize("small_organization", [0, 2_000])
async def test_the_pruned_ranking_from_the_period_totals_is_the_general_one(
    engine: AsyncEngine,
    make: LimitFactory,
    monkeypatch: pytest.MonkeyPatch,
    order: RankingOrder,
    small_organization: int,
    folds: str,
) -> None:
    """Candidates come from the threshold scan over several rounds (or, for an organization of at
    most SMALL_ORGANIZATION members, from its members' rows), with spend folded, in the journal
    (negative deltas included) or both: every page decided equals the oracle."""
    ids = await world_of_journal(make, engine, folds)
    monkeypatch.setattr(ranking_module, "SCAN_ROWS", 1)
    monkeypatch.setattr(ranking_module, "SCAN_PER_RANK", 1)
    monkeypatch.setattr(ranking_module, "CHUNK", 2)
    monkeypatch.setattr(ranking_module, "SMALL_ORGANIZATION", small_organization)
    decided = 0
    async with engine.connect() as conn:
        for organization in (None, ids["a"], ids["b"]):
            for min_share in (None, 0.25, 0.6):
                for limit, offset in PAGES:
                    request = RankingRequest(order, organization, min_share, AT, limit, offset)
                    pruned = await pruned_ranking(conn, request)
                    general = await general_ranking(conn, request)
                    if pruned is not None:
                        decided += 1
                        assert pruned == general, (
                            organization,
                            min_share,
                            limit,
                            offset,
                            [(r.spend_micros, r.share_of_limit) for r in pruned.items],
                            [(r.spend_micros, r.share_of_limit) for r in general.items],
                        )
    assert decided >= 30


async def test_a_user_lifted_by_the_journal_alone_tops_the_ranking_and_the_share_filter(
    engine: AsyncEngine, make: LimitFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Folded rows alone would rank ``low`` last and leave ``high`` first: the journal (a new
    message of ``low``, ``high``'s cost lowered after the fold) reverses them, and a user counted in
    both the folded range and the journal is counted once."""
    a = await make.organization("a")
    await make.enable(1000, Period.MONTH)
    users = {name: await make.user(name, organizations=(a,)) for name in ("high", "low", "mid", "other")}
    high_message = await make.message(await make.chat(users["high"], a), 900, created_at=IN_JUNE)
    low_chat = await make.spend(users["low"], a, 1, at=IN_JUNE)
    await make.spend(users["mid"], a, 500, at=IN_JUNE)
    for i in range(20):  # folded rows above low's, so a short scan does not reach it
        await make.spend(await make.user(f"filler{i:02}", organizations=(a,)), a, 100 + i, at=IN_JUNE)
    await fold(engine)
    await execute(engine, "UPDATE chat_messages SET total_cost_micros = 50 WHERE id = :id", id=high_message)
    await make.message(low_chat, 949, created_at=IN_JUNE)
    await make.spend(users["mid"], a, 100, at=IN_JUNE)  # folded 500 and journal 100: 600, once
    monkeypatch.setattr(ranking_module, "SCAN_ROWS", 1)
    monkeypatch.setattr(ranking_module, "SCAN_PER_RANK", 1)
    async with engine.connect() as conn:
        by_spend = await ranking(conn, at=AT, limit=2, offset=0)
        assert [(r.user_id, r.spend_micros) for r in by_spend.items] == [
            (users["low"], 950),
            (users["mid"], 600),
        ]
        for order in RankingOrder:
            request = RankingRequest(order, None, 0.55, AT, 10, 0)
            pruned = await pruned_ranking(conn, request)
            assert pruned is not None
            assert pruned == await general_ranking(conn, request)
            assert [(r.user_id, r.spend_micros) for r in pruned.items] == [
                (users["low"], 950),
                (users["mid"], 600),
            ]
            assert pruned.total_count == 2


@pytest.mark.parametrize("order", list(RankingOrder))
async def test_the_share_filter_keeps_a_user_exactly_at_it(
    engine: AsyncEngine, make: LimitFactory, order: RankingOrder
) -> None:
    """0.56 x 100 is 56.00000000000001 in floating point, yet 56 of 100 is a share of 0.56: the
    candidates' threshold must not leave out a user whose share is exactly the filter."""
    a = await make.organization("a")
    await make.enable(100, Period.MONTH)
    exact = await make.user("exact", organizations=(a,))
    below = await make.user("below", organizations=(a,))
    await make.spend(exact, a, 56, at=IN_JUNE)
    await make.spend(below, a, 55, at=IN_JUNE)
    request = RankingRequest(order, None, 0.56, AT, 10, 0)
    async with engine.connect() as conn:
        pruned = await pruned_ranking(conn, request)
        general = await general_ranking(conn, request)
    assert pruned is not None
    assert pruned == general
    assert [(r.user_id, r.share_of_limit) for r in pruned.items] == [(exact, 0.56)]


async def test_a_share_filter_with_too_many_candidates_is_left_to_the_general_statement(
    engine: AsyncEngine, make: LimitFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    await world_of_spenders(make, 12)
    request = RankingRequest(RankingOrder.SHARE_OF_LIMIT_DESC, None, 0.25, AT, 5, 0)
    async with engine.connect() as conn:
        decided = await pruned_ranking(conn, request)
        assert decided is not None and decided.total_count > 3
        monkeypatch.setattr(ranking_module, "MAX_FILTER_CANDIDATES", 3)
        assert await pruned_ranking(conn, request) is None
        # The request is still answered, by the general statement.
        answered = await ranking(conn, order=request.order, min_share=0.25, at=AT, limit=5, offset=0)
    assert answered == decided
