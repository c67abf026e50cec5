"""Engine, transactions and the table helpers every service shares."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy.exc
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from lms_contracts import EventData

from .observability import correlation_id_var

if TYPE_CHECKING:
    from sqlalchemy.engine import ExceptionContext

    from .outbox import Outbox

# SQLSTATEs that say the server cannot serve now, whatever the statement: class 08
# (connection exception); shutting down, crashed or starting up; a statement cancelled (by a
# statement timeout while a failover or a lock stalls the server, or by an operator); a
# standby reached after a failover (read-only); class 53 (out of connections, memory, disk)
# and 58 (I/O errors).
_UNAVAILABLE_STATES = ("08", "57P01", "57P02", "57P03", "57014", "25006", "53", "58")


# A connection lent again within this long of its return was working a moment ago.
PING_AFTER_IDLE_SECONDS = 1.0
_RETURNED_AT = "servicekit_returned_at"


def make_engine(
    url: str,
    *,
    pool_size: int = 10,
    connect_timeout: float = 5.0,
    statement_timeout: float | None = None,
    ping_after_idle: float = PING_AFTER_IDLE_SECONDS,
) -> AsyncEngine:
    """A pool that checks a connection that sat idle before lending it (one that PostgreSQL
    dropped, in a restart say, is replaced) and gives up connecting after ``connect_timeout``
    seconds, so that a request during an outage is answered (503) rather than held for
    asyncpg's default minute.

    ``statement_timeout`` bounds, on the client's side, how long any one round trip (a
    statement, a fetch, BEGIN, COMMIT, the idle check) waits for the server: a server that
    hangs (stopped, its storage stuck, a network that drops packets without a reset) keeps
    the connection open and answers nothing, and no server-side ``statement_timeout`` fires
    then. Past the bound the connection is dropped (the pool opens new ones) and the error
    says the database is unavailable (:class:`DatabaseDidNotAnswer`). ``None`` waits as
    long as it takes: migrations and operator commands run without it (ADR 11). A wait for a
    free connection of the pool is bounded by the same time.

    SQLAlchemy's ``pool_pre_ping`` checks every connection it lends, and asyncpg's check is
    three round trips (BEGIN, an empty query, ROLLBACK): on the busiest requests that was more
    than their own statements. A connection back in use within ``ping_after_idle`` seconds is
    lent unchecked; if the server went away in that moment, its first statement fails as a
    disconnect, which invalidates the whole pool (an HTTP request gets a 503 to retry, a
    consumer pauses and applies its batch again), so one check after idling covers the
    rest."""
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        # the connection returned last is lent first: the busy ones stay busy (and unchecked),
        # the others idle
        pool_use_lifo=True,
        # an error's text never repeats a statement's parameters (names, phone numbers) into
        # a log line
        hide_parameters=True,
        pool_timeout=statement_timeout or 30.0,
        connect_args={
            "timeout": connect_timeout,
            "command_timeout": statement_timeout,
            "server_settings": {"application_name": application_name()},
        },
    )
    dialect = engine.dialect
    event.listen(engine.sync_engine, "handle_error", _drop_if_unanswered)

    @event.listens_for(engine.sync_engine, "checkin")
    def returned(dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def lent(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        returned_at = record.info.get(_RETURNED_AT)  # none on a connection just made
        if returned_at is None or time.monotonic() - returned_at < ping_after_idle:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except BaseException as exc:
            # dropped at once: closing politely would wait for a hung server's goodbye
            dbapi_connection.driver_connection.terminate()
            if not isinstance(exc, Exception):
                raise  # cancelled (a readiness check's bound, say)
            # the pool drops this connection and lends another (a new one if need be)
            raise sqlalchemy.exc.DisconnectionError(repr(exc)) from exc

    return engine


class DatabaseDidNotAnswer(sqlalchemy.exc.OperationalError):
    """A round trip to the database (or connecting to it) took longer than the engine's
    bound: the server is hung or unreachable. The connection was dropped."""


def _drop_if_unanswered(context: ExceptionContext) -> BaseException | None:
    """The driver gave up waiting for the server (asyncpg's ``command_timeout``), or the
    waiting task was cancelled: the connection's state is unknown (the server may still be
    running the statement, or be hung), so the pool drops it and opens new ones.

    After a timeout the connection is closed politely: asyncpg first asks the server to cancel
    the statement (a slow one stops running there), and a hung server gets two seconds to
    answer (SQLAlchemy's bound on closing) before the socket is cut. A cancelled task's
    connection is cut at once: whoever cancelled it (a readiness check past its bound, a
    shutdown) wants out now. A timeout is raised as :class:`DatabaseDidNotAnswer`, which
    ``database_unavailable`` knows."""
    error = context.original_exception
    if not isinstance(error, TimeoutError | asyncio.CancelledError):
        return None
    connection = context.connection
    if connection is not None and not connection.invalidated:
        driver = connection.connection.driver_connection
        if isinstance(error, asyncio.CancelledError) and driver is not None:
            driver.terminate()
        context.is_disconnect = True
    if isinstance(error, TimeoutError):
        return DatabaseDidNotAnswer(context.statement, None, error, hide_parameters=True)
    return None


def application_name() -> str:
    """How PostgreSQL's ``pg_stat_activity`` names this process's connections: its host (the
    pod, in Kubernetes) and process id, so that an operator (or a test) can tell replicas apart."""
    return f"{socket.gethostname()}:{os.getpid()}"[-63:]


@dataclass
class Transaction:
    """One database transaction, with the outbox that commits together with it."""

    conn: AsyncConnection
    outbox: Outbox
    correlation_id: str | None = None
    causation_id: str | None = None
    emitted: list[Any] = field(default_factory=list)

    async def emit(self, data: EventData, *, subject: str | None = None) -> None:
        event = await self.outbox.add(
            self.conn,
            data,
            subject=subject,
            correlation_id=self.correlation_id,
            causation_id=self.causation_id,
        )
        self.emitted.append(event)

    async def emit_all(self, events: list[EventData]) -> None:
        """``emit`` for each, in one statement: a use case that publishes hundreds of events
        (an import's chunk) costs one round trip for them, not two each."""
        if len(events) == 1:
            await self.emit(events[0])
        elif events:
            self.emitted += await self.outbox.add_all(
                self.conn,
                events,
                correlation_id=self.correlation_id,
                causation_id=self.causation_id,
            )

    async def execute(self, statement: Any, params: Any = None) -> Any:
        return await self.conn.execute(statement, params)


class CommitOutcomeUnknown(Exception):
    """The connection was lost while the transaction committed: the server may have committed
    it or not, and nobody can tell from here. An HTTP client is told so (a retry with the same
    ``Idempotency-Key`` gets the first answer if it did commit); a consumer applies its batch
    again, which its inbox makes harmless. Its cause says the database is unavailable."""


class Database:
    """The service's own database: transactions that carry their outbox."""

    def __init__(self, engine: AsyncEngine, outbox: Outbox) -> None:
        self.engine = engine
        self.outbox = outbox

    @asynccontextmanager
    async def transaction(
        self, *, correlation_id: str | None = None, causation_id: str | None = None
    ) -> AsyncIterator[Transaction]:
        """Commits when the block ends; raises ``CommitOutcomeUnknown`` if the database went
        away during the COMMIT itself."""
        committing = False
        try:
            async with self.engine.begin() as conn:
                yield Transaction(
                    conn, self.outbox, correlation_id or correlation_id_var.get(), causation_id
                )
                committing = True
        except Exception as exc:
            if committing and database_unavailable(exc):
                raise CommitOutcomeUnknown() from exc
            raise

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            yield conn

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot serve now (it is down, restarting, failing
    over, stalled past the statement timeout, out of connections), as opposed to refusing
    one statement: an HTTP request gets a 503 to retry, a consumer pauses (ADR 12)."""
    seen: set[int] = set()
    err: BaseException | None = exc
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, sqlalchemy.exc.TimeoutError | sqlalchemy.exc.OperationalError):
            return True
        if isinstance(err, sqlalchemy.exc.DBAPIError) and err.connection_invalidated:
            return True
        state = getattr(err, "sqlstate", None) or getattr(err, "pgcode", None)
        if isinstance(state, str) and state.startswith(_UNAVAILABLE_STATES):
            return True
        if isinstance(err, OSError) and _raised_connecting(err):
            return True
        err = getattr(err, "orig", None) or err.__cause__ or err.__context__
    return False


def _raised_connecting(exc: BaseException) -> bool:
    """An ``OSError`` (refused, no such socket, timed out) raised while the driver or the
    pool opened a connection, rather than by anything else a request does."""
    tb = exc.__traceback__
    while tb is not None:
        module = tb.tb_frame.f_globals.get("__name__", "")
        if module.startswith(("asyncpg.", "sqlalchemy.pool.")):
            return True
        tb = tb.tb_next
    return False
