"""Migration 000014's watermark, step by step: the orders of writes and folds that a background
folder meets, each checked against the messages themselves after every step (docs/spend-journal.md).

The rule under test: a fold takes every message and correction its statement sees and records its
snapshot; a message is unfolded while that snapshot does not see its transaction committed; a
correction counts once that snapshot sees the version it corrects committed."""

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.directory.ingest import NewMessage, record_message
from spendlimits.directory.messages import MessageRole
from tests.conftest import plain
from tests.limits.factories import LimitFactory

INSERT = (
    "INSERT INTO chat_messages (chat_id, role, total_cost_micros) VALUES ($1, 'assistant', $2) RETURNING id"
)
FOLD = "SELECT spendlimits_fold_spend_journal()"


class Sessions:
    def __init__(self, url: str, chat: uuid.UUID) -> None:
        self.url = url
        self.chat = chat
        self.open: list[asyncpg.Connection] = []

    async def connect(self) -> asyncpg.Connection:
        conn = await asyncpg.connect(self.url)
        self.open.append(conn)
        return conn

    async def state(self) -> tuple[int, int, int, int]:
        """(the messages' spend, the rollup's, the folded rows', the unfolded rows'), one snapshot."""
        conn = self.open[0]
        row = await conn.fetchrow(
            """
            SELECT (SELECT coalesce(sum(total_cost_micros), 0) FROM chat_messages),
                   (SELECT coalesce(sum(spend_micros), 0) FROM chat_spend_daily),
                   (SELECT coalesce(sum(spend_micros), 0) FROM chat_spend_daily_folded),
                   (SELECT coalesce(sum(delta_micros), 0) FROM chat_spend_unfolded)
            """
        )
        assert row is not None
        return (row[0], row[1], row[2], row[3])

    async def assert_exact(self, folded: int) -> None:
        """The rollup equals the messages, and ``folded`` of it is in the folded rows; the month's
        total says the same."""
        raw, rollup, in_folded, unfolded = await self.state()
        assert (rollup, in_folded, in_folded + unfolded) == (raw, folded, raw)
        month = await self.open[0].fetchval(
            "SELECT coalesce(sum(spend_micros), 0) FROM chat_spend_period_totals WHERE period = 'month'"
        )
        assert month == raw
        # Each user's unfolded rows as a decision reads them (the per-user function) are that
        # user's share of everyone's.
        mismatched = await self.open[0].fetch(
            """
            SELECT u.id FROM users u, (
                SELECT upto, ARRAY(SELECT pg_snapshot_xip(upto)) AS running FROM spendlimits_spend_folded
            ) w
            WHERE (SELECT coalesce(sum(delta_micros), 0)
                   FROM spendlimits_spend_unfolded_rows(u.id, w.upto, w.running))
               <> (SELECT coalesce(sum(delta_micros), 0) FROM chat_spend_unfolded x WHERE x.user_id = u.id)
            """
        )
        assert mismatched == []


@pytest.fixture
async def sessions(engine: AsyncEngine, database_url: str) -> AsyncIterator[Sessions]:
    make = LimitFactory(engine)
    org = await make.organization("acme")
    user = await make.user("alice", organizations=(org,))
    found = Sessions(plain(database_url), await make.chat(user, org))
    await found.connect()
    try:
        yield found
    finally:
        for conn in found.open:
            await conn.close()


async def test_a_fold_leaves_a_transaction_it_saw_running_and_the_next_one_takes_it(
    sessions: Sessions,
) -> None:
    reader, writer = sessions.open[0], await sessions.connect()
    async with writer.transaction():
        await writer.fetchval(INSERT, sessions.chat, 5)
        assert await reader.fetchval(FOLD) == 0
    # Committed after the fold's snapshot, which listed it as running: unfolded, and counted.
    await sessions.assert_exact(folded=0)
    assert await reader.fetchval(FOLD) == 1
    await sessions.assert_exact(folded=5)
    assert await reader.fetchval(FOLD) == 0


async def test_an_update_that_commits_after_a_fold_took_the_old_cost_is_counted_as_a_correction(
    sessions: Sessions,
) -> None:
    reader, writer = sessions.open[0], await sessions.connect()
    message = await reader.fetchval(INSERT, sessions.chat, 10)
    async with writer.transaction():
        await writer.execute("UPDATE chat_messages SET total_cost_micros = 4 WHERE id = $1", message)
        # The fold sees the old version (10) committed, not the update.
        assert await reader.fetchval(FOLD) == 1
        await sessions.assert_exact(folded=10)
    # The correction (-6) is of a version the last fold saw: it counts.
    assert await reader.fetchval("SELECT delta_micros FROM chat_spend_unfolded") == -6
    await sessions.assert_exact(folded=10)
    assert await reader.fetchval(FOLD) == 1
    await sessions.assert_exact(folded=4)
    assert await reader.fetchval("SELECT count(*) FROM chat_spend_journal") == 0


async def test_corrections_of_versions_no_fold_saw_count_nothing_the_message_is_read_as_it_is(
    sessions: Sessions,
) -> None:
    conn = sessions.open[0]
    repriced = await conn.fetchval(INSERT, sessions.chat, 10)
    deleted = await conn.fetchval(INSERT, sessions.chat, 30)
    await conn.execute("UPDATE chat_messages SET total_cost_micros = 4 WHERE id = $1", repriced)
    await conn.execute("DELETE FROM chat_messages WHERE id = $1", deleted)
    # Two corrections journaled, neither counted: the messages themselves are unfolded.
    assert await conn.fetchval("SELECT count(*) FROM chat_spend_journal") == 2
    assert await conn.fetchval("SELECT array_agg(delta_micros) FROM chat_spend_unfolded") == [4]
    await sessions.assert_exact(folded=0)
    # The fold takes the message (4) and drops both corrections.
    assert await conn.fetchval(FOLD) == 3
    await sessions.assert_exact(folded=4)
    assert await conn.fetchval("SELECT count(*) FROM chat_spend_journal") == 0
    # Folded now: a later change is a counted correction.
    await conn.execute("UPDATE chat_messages SET total_cost_micros = 1 WHERE id = $1", repriced)
    await sessions.assert_exact(folded=4)
    assert await conn.fetchval(FOLD) == 1
    await sessions.assert_exact(folded=1)


async def test_a_fold_in_a_transaction_that_writes_leaves_its_messages_before_and_after_it(
    sessions: Sessions,
) -> None:
    conn, other = sessions.open[0], await sessions.connect()
    async with conn.transaction():
        await conn.fetchval(INSERT, sessions.chat, 3)
        # A later transaction commits: the fold's snapshot sees past this one (its xmax is beyond
        # this transaction's id), yet this one is still running.
        await other.fetchval(INSERT, sessions.chat, 1)
        assert await conn.fetchval(FOLD) == 1
        await conn.fetchval(INSERT, sessions.chat, 4)
        await sessions.assert_exact(folded=1)
        assert await conn.fetchval(FOLD) == 0
        await sessions.assert_exact(folded=1)
    await sessions.assert_exact(folded=1)
    assert await conn.fetchval(FOLD) == 2
    await sessions.assert_exact(folded=8)


async def test_a_long_transaction_holds_back_only_its_own_messages(sessions: Sessions) -> None:
    reader, long, short = sessions.open[0], await sessions.connect(), await sessions.connect()
    async with long.transaction():
        await long.fetchval(INSERT, sessions.chat, 100)
        folded = 0
        for cost in (1, 2, 3):
            await short.fetchval(INSERT, sessions.chat, cost)
            # Each fold takes the short writer's message, whatever is still running.
            assert await reader.fetchval(FOLD) == 1
            folded += cost
            await sessions.assert_exact(folded=folded)
        # Updated inside the long transaction: a correction of its own version, never counted.
        await long.execute("UPDATE chat_messages SET total_cost_micros = 60 WHERE total_cost_micros = 100")
    await sessions.assert_exact(folded=6)
    assert await reader.fetchval("SELECT array_agg(delta_micros) FROM chat_spend_unfolded") == [60]
    assert await reader.fetchval(FOLD) == 2  # the message and the dropped correction
    await sessions.assert_exact(folded=66)


async def test_an_aborted_transaction_leaves_nothing_to_fold(sessions: Sessions) -> None:
    reader, writer = sessions.open[0], await sessions.connect()
    transaction = writer.transaction()
    await transaction.start()
    await writer.fetchval(INSERT, sessions.chat, 8)
    assert await reader.fetchval(FOLD) == 0
    await transaction.rollback()
    await sessions.assert_exact(folded=0)
    assert await reader.fetchval(FOLD) == 0


async def test_a_message_gets_its_chats_attribution_and_cannot_be_given_another(
    sessions: Sessions, engine: AsyncEngine
) -> None:
    conn = sessions.open[0]
    attribution = "SELECT owner_id, organization_id FROM {} WHERE id = $1"
    chat = await conn.fetchrow(attribution.format("chats"), sessions.chat)
    assert chat is not None
    owner, organization = chat["owner_id"], chat["organization_id"]
    # Left out (SQL by hand): the trigger fills it in from the chat.
    message = await conn.fetchval(INSERT, sessions.chat, 5)
    assert await conn.fetchrow(attribution.format("chat_messages"), message) == chat
    # Passed (as the service does): checked against the chat.
    other = await LimitFactory(engine).user("mallory")
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await conn.execute(
            "INSERT INTO chat_messages (chat_id, role, total_cost_micros, owner_id, organization_id)"
            " VALUES ($1, 'assistant', 5, $2, $3)",
            sessions.chat,
            other,
            organization,
        )
    # Cleared by an UPDATE: filled in again, so no unfolded message is without a user.
    await conn.execute("UPDATE chat_messages SET owner_id = NULL WHERE id = $1", message)
    assert await conn.fetchval("SELECT owner_id FROM chat_messages WHERE id = $1", message) == owner
    # A chat that does not exist fails on the chat's key, as before migration 000014.
    with pytest.raises(asyncpg.ForeignKeyViolationError, match="chat_messages_chat_id_fkey"):
        await conn.fetchval(INSERT, uuid.uuid4(), 5)
    await sessions.assert_exact(folded=0)


async def test_a_message_moved_to_another_users_chat_moves_its_spend_folded_or_not(
    sessions: Sessions, engine: AsyncEngine
) -> None:
    make = LimitFactory(engine)
    org = await make.organization("elsewhere")
    bob = await make.user("bob", organizations=(org,))
    bobs_chat = await make.chat(bob, org)
    conn = sessions.open[0]
    spend_of = "SELECT coalesce(sum(spend_micros), 0) FROM chat_spend_daily WHERE user_id = $1"
    alice = await conn.fetchval("SELECT owner_id FROM chats WHERE id = $1", sessions.chat)
    folded_one = await conn.fetchval(INSERT, sessions.chat, 10)
    assert await conn.fetchval(FOLD) == 1
    unfolded_one = await conn.fetchval(INSERT, sessions.chat, 20)
    for message in (folded_one, unfolded_one):
        await conn.execute("UPDATE chat_messages SET chat_id = $2 WHERE id = $1", message, bobs_chat)
    assert (await conn.fetchval(spend_of, alice), await conn.fetchval(spend_of, bob)) == (0, 30)
    assert await conn.fetchval("SELECT owner_id FROM chat_messages WHERE id = $1", unfolded_one) == bob
    await sessions.assert_exact(folded=10)
    await conn.fetchval(FOLD)
    await sessions.assert_exact(folded=30)
    assert (await conn.fetchval(spend_of, alice), await conn.fetchval(spend_of, bob)) == (0, 30)


async def test_the_service_passes_the_attribution_so_its_inserts_need_no_trigger(
    sessions: Sessions, engine: AsyncEngine
) -> None:
    """recordChatMessage(s) write the chat's owner and organization themselves: with the trigger
    that fills them in disabled, the message still has them (and counts for its user)."""
    conn = sessions.open[0]
    await conn.execute("ALTER TABLE chat_messages DISABLE TRIGGER chat_messages_attribution_insert")
    try:
        async with engine.begin() as service:
            recorded = await record_message(
                service, NewMessage(sessions.chat, MessageRole.ASSISTANT, total_cost_micros=9)
            )
    finally:
        await conn.execute("ALTER TABLE chat_messages ENABLE TRIGGER chat_messages_attribution_insert")
    chat = await conn.fetchrow("SELECT owner_id, organization_id FROM chats WHERE id = $1", sessions.chat)
    message = await conn.fetchrow(
        "SELECT owner_id, organization_id FROM chat_messages WHERE id = $1", recorded.message.id
    )
    assert chat is not None and message == chat
    await sessions.assert_exact(folded=0)
