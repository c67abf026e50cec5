"""Engine, transactions and the table helpers every service shares."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy.exc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from lms_contracts import EventData

from .observability import correlation_id_var

if TYPE_CHECKING:
    from .outbox import Outbox

# SQLSTATEs that say the server cannot serve now, whatever the statement: class 08
# (connection exception); shutting down, crashed or starting up; a statement cancelled (by a
# statement timeout while a failover or a lock stalls the server, or by an operator); a
# standby reached after a failover (read-only); class 53 (out of connections, memory, disk)
# and 58 (I/O errors).
_UNAVAILABLE_STATES = ("08", "57P01", "57P02", "57P03", "57014", "25006", "53", "58")


def make_engine(url: str, *, pool_size: int = 10, connect_timeout: float = 5.0) -> AsyncEngine:
    """A pool that checks a connection before lending it (one that PostgreSQL dropped, in a
    restart say, is replaced) and gives up connecting after ``connect_timeout`` seconds, so
    that a request during an outage is answered (503) rather than held for asyncpg's
    default minute."""
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args={"timeout": connect_timeout},
    )


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

    async def execute(self, statement: Any, params: Any = None) -> Any:
        return await self.conn.execute(statement, params)


class Database:
    """The service's own database: transactions that carry their outbox."""

    def __init__(self, engine: AsyncEngine, outbox: Outbox) -> None:
        self.engine = engine
        self.outbox = outbox

    @asynccontextmanager
    async def transaction(
        self, *, correlation_id: str | None = None, causation_id: str | None = None
    ) -> AsyncIterator[Transaction]:
        async with self.engine.begin() as conn:
            yield Transaction(
                conn, self.outbox, correlation_id or correlation_id_var.get(), causation_id
            )

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
