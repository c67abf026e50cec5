"""Engine, transactions and the table helpers every service shares."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from lms_contracts import EventData

from .observability import correlation_id_var

if TYPE_CHECKING:
    from .outbox import Outbox


def make_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


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
