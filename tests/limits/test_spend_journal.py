"""The spend folder (docs/spend-journal.md): the server folds in the background, a
failing fold is logged once and retried, and spend reads the same before and after a fold,
through the API too."""

import asyncio
import logging
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits import metrics
from spendlimits.app import create_app
from spendlimits.auth.principal import Role
from spendlimits.limits.spend_journal import JournalFolder, fold_now
from spendlimits.settings import Settings
from tests.conftest import GraphQLClient, make_token, make_user
from tests.limits.factories import DOLLAR, LimitFactory
from tests.test_cli import spendlimits
from tests.test_import import good_lines

STATUS = """
query ($id: ID!) { user(id: $id) { chatUsageLimitStatus { currentSpendMicros spendLimitMicros } } }
"""


async def unfolded_rows(engine: AsyncEngine) -> int:
    """Messages past the last fold and counted corrections: what a fold would move."""
    async with engine.connect() as conn:
        return int(await conn.scalar(text("SELECT count(*) FROM chat_spend_unfolded")) or 0)


async def folded_spend(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(
            await conn.scalar(text("SELECT coalesce(sum(spend_micros), 0) FROM chat_spend_daily_folded")) or 0
        )


async def wait_until_all_is_folded(engine: AsyncEngine, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if await unfolded_rows(engine) == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{await unfolded_rows(engine)} rows are still unfolded after {seconds} s")


async def test_the_server_folds_in_the_background_and_the_status_reads_the_same(
    engine: AsyncEngine, settings: Settings
) -> None:
    make = LimitFactory(engine)
    await make.enable(10 * DOLLAR)
    org = await make.organization("acme")
    owner = await make_user(engine, Role.OWNER)
    user = await make.user("alice", organizations=(org,))
    for cost in (100, 250, 4_000):
        await make.spend(user, org, cost)
    assert await unfolded_rows(engine) == 3

    app = create_app(engine, replace(settings, fold_interval_ms=50))
    before = metrics.JOURNAL_FOLDED_ROWS._value.get()
    token = await make_token(engine, owner)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as http:
        api = GraphQLClient(http, token)
        unfolded = await api.data(STATUS, {"id": str(user)})
        async with app.router.lifespan_context(app):
            await wait_until_all_is_folded(engine)
            folded = await api.data(STATUS, {"id": str(user)})
    assert unfolded == folded
    assert folded["user"]["chatUsageLimitStatus"]["currentSpendMicros"] == 4_350
    assert await folded_spend(engine) == 4_350
    assert metrics.JOURNAL_FOLDED_ROWS._value.get() - before == 3


async def test_a_failing_fold_is_logged_once_and_retried_until_it_works(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    make = LimitFactory(engine)
    org = await make.organization("acme")
    user = await make.user("alice", organizations=(org,))
    await make.spend(user, org, 700)
    async with engine.begin() as conn:
        await conn.execute(text("ALTER FUNCTION spendlimits_fold_spend_journal() RENAME TO fold_gone"))
    errors = metrics.JOURNAL_FOLD_ERRORS._value.get()
    folder = JournalFolder(engine, 0.02)
    caplog.set_level(logging.INFO, logger="spendlimits.limits.spend_journal")
    folder.start()
    try:
        for _ in range(200):
            if metrics.JOURNAL_FOLD_ERRORS._value.get() - errors >= 3:
                break
            await asyncio.sleep(0.02)
        assert metrics.JOURNAL_FOLD_ERRORS._value.get() - errors >= 3
        assert await unfolded_rows(engine) == 1  # nothing lost: the message waits for a fold that works
        async with engine.begin() as conn:
            await conn.execute(text("ALTER FUNCTION fold_gone() RENAME TO spendlimits_fold_spend_journal"))
        await wait_until_all_is_folded(engine)
    finally:
        await folder.close()
    failures = [r for r in caplog.records if "folding the spend journal failed" in r.getMessage()]
    assert len(failures) == 1, [r.getMessage() for r in caplog.records]
    assert any("works again" in r.getMessage() for r in caplog.records)
    assert await folded_spend(engine) == 700


async def test_a_fold_with_nothing_to_do_moves_nothing(engine: AsyncEngine) -> None:
    assert await fold_now(engine) == 0


async def test_the_fold_command_folds_and_says_how_much(engine: AsyncEngine, database_url: str) -> None:
    make = LimitFactory(engine)
    org = await make.organization("acme")
    user = await make.user("alice", organizations=(org,))
    await make.spend(user, org, 30)
    await make.spend(user, org, 12)
    done = spendlimits("fold", database_url=database_url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "folded 2 rows of spend (messages and corrections)"
    assert await unfolded_rows(engine) == 0
    assert await folded_spend(engine) == 42


async def test_an_import_folds_what_it_wrote(engine: AsyncEngine, database_url: str, tmp_path: Path) -> None:
    source = tmp_path / "good.jsonl"
    source.write_text("\n".join(good_lines()) + "\n")
    done = spendlimits("import", str(source), database_url=database_url)
    assert done.returncode == 0, done.stderr
    assert await unfolded_rows(engine) == 0
    async with engine.connect() as conn:
        cost = await conn.scalar(text("SELECT sum(total_cost_micros) FROM chat_messages"))
    assert cost and await folded_spend(engine) == cost


async def test_the_fold_command_says_when_another_session_is_folding(
    engine: AsyncEngine, database_url: str
) -> None:
    make = LimitFactory(engine)
    org = await make.organization("acme")
    user = await make.user("alice", organizations=(org,))
    await make.spend(user, org, 5)
    async with engine.connect() as conn, conn.begin():
        # What a folding session holds (migration 000012): the fold's own advisory lock.
        await conn.execute(text("SELECT pg_advisory_xact_lock(1397772874)"))
        done = spendlimits("fold", database_url=database_url)
    assert done.returncode == 1
    assert (
        done.stderr.strip() == "spendlimits: another session is folding the spend journal; nothing was done"
    )
    assert await unfolded_rows(engine) == 1
