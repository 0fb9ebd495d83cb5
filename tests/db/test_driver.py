"""HotStatement: the driver on autocommit connections, SQLAlchemy everywhere else and on failure."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits import metrics
from spendlimits.db.driver import HotStatement

ECHO = HotStatement(text("SELECT CAST(:a AS int) + 1 AS answer, CAST(:b AS text) AS label"))
TOKENS = HotStatement(text("SELECT count(*) AS n FROM api_tokens WHERE name = :name"))
DIVIDE = HotStatement(text("SELECT 1 / CAST(:zero AS int) AS never"))


def statements_counted() -> float:
    return float(metrics.SQL_STATEMENTS._value.get())


async def test_on_an_autocommit_connection_it_binds_by_name_and_counts_the_statement(
    engine: AsyncEngine,
) -> None:
    before = statements_counted()
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        rows = await ECHO.fetch(conn, {"b": "x", "a": 41})
    assert [(row["answer"], row["label"]) for row in rows] == [(42, "x")]
    assert statements_counted() == before + 1


async def test_in_a_transaction_it_runs_inside_that_transaction(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(
            text("INSERT INTO api_tokens (name, service, secret_hash) VALUES ('t', 'chatd', :h)"),
            {"h": b"\x01" * 32},
        )
        # Uncommitted: only a statement in the same transaction sees the row.
        rows = await TOKENS.fetch(conn, {"name": "t"})
        assert rows[0]["n"] == 1
        await conn.rollback()
        # A new transaction, begun by SQLAlchemy at this statement as usual.
        rows = await TOKENS.fetch(conn, {"name": "t"})
        assert rows[0]["n"] == 0


async def test_a_failing_statement_fails_as_through_sqlalchemy(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        with pytest.raises(DBAPIError, match="division by zero"):
            await DIVIDE.fetch(conn, {"zero": 0})
        # The connection is still usable afterwards.
        assert (await ECHO.fetch(conn, {"a": 1, "b": "y"}))[0]["answer"] == 2
