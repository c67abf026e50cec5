"""Which errors say the database cannot be reached (a 503 to retry, a consumer that waits),
and which are something else (a 500, a message that failed)."""

import asyncpg
import pytest
import sqlalchemy.exc
from sqlalchemy import text

from servicekit.database import DatabaseDidNotAnswer, database_unavailable, make_engine
from servicekit.testing.waiting import eventually


def wrapped(orig: Exception, *, invalidated: bool = False) -> sqlalchemy.exc.DBAPIError:
    return sqlalchemy.exc.DBAPIError("SELECT 1", None, orig, connection_invalidated=invalidated)


@pytest.mark.parametrize(
    "error",
    [
        wrapped(RuntimeError("connection is closed"), invalidated=True),
        sqlalchemy.exc.OperationalError("SELECT 1", None, RuntimeError("server closed")),
        sqlalchemy.exc.TimeoutError("QueuePool limit of size 10 overflow 10 reached"),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.AdminShutdownError("terminating connection"),
        asyncpg.exceptions.TooManyConnectionsError("too many clients"),
        wrapped(asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed")),
        wrapped(asyncpg.exceptions.QueryCanceledError("canceling statement due to timeout")),
        asyncpg.exceptions.ReadOnlySQLTransactionError("cannot execute INSERT in a read-only"),
        asyncpg.exceptions.DiskFullError("could not extend file"),
        asyncpg.exceptions.CrashShutdownError("terminating connection: crash of another"),
        DatabaseDidNotAnswer("SELECT 1", None, TimeoutError()),
    ],
    ids=lambda e: type(e).__name__,
)
def test_connection_level_errors_say_the_database_is_unavailable(error: Exception) -> None:
    assert database_unavailable(error)


@pytest.mark.parametrize(
    "error",
    [
        wrapped(asyncpg.exceptions.UniqueViolationError("duplicate key")),
        asyncpg.exceptions.UndefinedTableError("relation does not exist"),
        ConnectionRefusedError("a notification gateway refused"),
        TimeoutError("an HTTP call timed out"),
        RuntimeError("a bug"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_other_errors_do_not(error: Exception) -> None:
    assert not database_unavailable(error)


async def test_a_refused_connection_does() -> None:
    engine = make_engine("postgresql+asyncpg://nobody@127.0.0.1:9/none", connect_timeout=2)
    try:
        with pytest.raises(OSError) as refused:
            async with engine.connect():
                pass
    finally:
        await engine.dispose()
    assert database_unavailable(refused.value)


@pytest.mark.integration
async def test_an_error_raised_inside_a_transaction_is_not_blamed_on_the_database(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    try:
        with pytest.raises(OSError) as raised:
            async with engine.begin() as conn:
                await conn.execute(text("SELECT 1"))
                raise ConnectionResetError("the SMTP server hung up")
    finally:
        await engine.dispose()
    assert not database_unavailable(raised.value)


@pytest.mark.integration
async def test_a_statement_past_the_bound_is_an_outage_and_is_cancelled_on_the_server(
    database_url: str,
) -> None:
    """A server that answers, but not within the engine's bound: the statement is given up,
    the error says the database is unavailable, the server stops running it, and the next
    statement gets a connection that works."""
    engine = make_engine(database_url, statement_timeout=0.5)
    try:
        async with engine.connect() as conn:
            first_pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        with pytest.raises(DatabaseDidNotAnswer) as raised:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT pg_sleep(60)"))
        assert database_unavailable(raised.value)
        assert "pg_sleep" in str(raised.value)  # the statement, never its parameters

        async def still_sleeping() -> int:
            async with engine.connect() as conn:
                query = text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE query = 'SELECT pg_sleep(60)' AND state = 'active'"
                )
                return int((await conn.execute(query)).scalar_one())

        assert await eventually(still_sleeping, lambda n: n == 0) == 0
        async with engine.connect() as conn:
            pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        assert pid != first_pid  # the pool made new connections
    finally:
        await engine.dispose()
