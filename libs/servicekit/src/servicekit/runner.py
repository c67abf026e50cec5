"""The one way a use case runs: a command in, one transaction, events out through the outbox.

A route (or an inbound event, through the service's inbound table) builds a command and hands
it to the :class:`Runner`. The runner opens the transaction, opens the service's unit of work
on it, finds the use case in the service's table of handlers, runs it, translates the domain
events the unit of work collected into contract events and adds them to the outbox in the same
transaction, and, under an ``Idempotency-Key``, stores the answer so that a repeat gets it
again. Nobody else flushes events. Domain errors raised by a use case reach the client as
problems through the service's :class:`~servicekit.problems.Refusals` table.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Header
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncConnection

from lms_contracts import EventData

from .database import Database, Transaction
from .idempotency import IdempotencyStore, fingerprint
from .observability import correlation_id_var


class UnitOfWork:
    """One transaction's view of a service's tables. Use cases ``publish`` domain events on
    it; the runner collects them when the use case returns."""

    def __init__(self, tx: Transaction) -> None:
        self.tx = tx
        self.conn = tx.conn
        self._events: list[Any] = []

    def publish(self, event: Any) -> None:
        self._events.append(event)

    def collect(self) -> list[Any]:
        """The domain events published so far, handed over once."""
        events, self._events = self._events, []
        return events


U = TypeVar("U", bound=UnitOfWork)
UseCase = Callable[[Any, U], Awaitable[Any]]
# Domain event -> the contract events it becomes (the service's ``events/outbound.py``).
Outbound = Callable[[Any], Iterable[EventData]]
# What a successful use case shows the client: its result (and the unit of work, to read
# more inside the same transaction) -> a JSON-able body, or an awaitable of one.
View = Callable[[Any, U], Any]
# What an answer's body shows that must be recorded (someone's personal data, say): the body
# -> commands to run in the answer's transaction, for the first answer and for every replay.
Records = Callable[[Any], Iterable[Any]]


def no_events(event: Any) -> Iterable[EventData]:
    raise TypeError(f"this service publishes no events, but a use case published {event!r}")


# The request header, for routes that create: ``idempotency_key: IdempotencyKey = None``.
IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", max_length=200, pattern=r"^[\x21-\x7e]+$")
]


@dataclass(frozen=True)
class Idempotency:
    """An ``Idempotency-Key`` (or None) and what it guards: the caller's scope and the body."""

    key: str | None
    scope: str
    body: Any


class UnknownCommand(LookupError):
    pass


class Runner(Generic[U]):
    def __init__(
        self,
        database: Database,
        idempotency: IdempotencyStore,
        open_unit: Callable[[Transaction], U],
        handlers: Mapping[type[Any], UseCase[U]],
        outbound: Outbound = no_events,
    ) -> None:
        self.database = database
        self.idempotency = idempotency
        self.open_unit = open_unit
        self.handlers = handlers
        self.outbound = outbound

    async def execute(self, command: Any, *, autocommit: bool = False) -> Any:
        """Run the command's use case in a transaction of its own; return its result.

        ``autocommit`` is for a use case whose every write is one atomic statement (its state
        and its outbox row together): each statement commits on its own, which spares BEGIN
        and COMMIT their round trips on the busiest paths."""
        if not autocommit:
            async with self.database.transaction() as tx:
                return await self.apply(tx, command)
        async with self.database.engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            tx = Transaction(conn, self.database.outbox, correlation_id_var.get())
            return await self.apply(tx, command)

    async def apply(self, tx: Transaction, *commands: Any) -> Any:
        """Run use cases inside ``tx`` (an inbound event's, say) and add their events to its
        outbox; the last one's result is returned."""
        uow = self.open_unit(tx)
        result = None
        for command in commands:
            result = await self._dispatch(command, uow)
        await self._flush(uow)
        return result

    async def respond(
        self,
        command: Any,
        view: View[U],
        *,
        status: int | Callable[[Any], int] = 200,
        idempotency: Idempotency | None = None,
        records: Records | None = None,
    ) -> JSONResponse:
        """Run the command and answer ``view`` of its result with ``status`` (or the status
        ``status`` gives that result: 201 created, 200 found), in one transaction; with an
        ``Idempotency-Key``, a repeat of the same request gets the first answer, and requests
        sharing a key wait for each other. The commands ``records`` gives for the body run in
        the same transaction, a replay's too: whatever is shown is recorded each time."""
        guarded = idempotency if idempotency is not None and idempotency.key else None
        request_fingerprint = fingerprint(guarded.body) if guarded else ""
        async with self.database.transaction() as tx:
            if guarded is not None:
                assert guarded.key is not None
                stored = await self.idempotency.replay(
                    tx.conn, guarded.scope, guarded.key, request_fingerprint
                )
                if stored is not None:
                    if records is not None:
                        await self.apply(tx, *records(stored[1]))
                    return JSONResponse(stored[1], status_code=stored[0])
            uow = self.open_unit(tx)
            result = await self._dispatch(command, uow)
            body = view(result, uow)
            if inspect.isawaitable(body):
                body = await body
            for recording in records(body) if records is not None else ():
                await self._dispatch(recording, uow)
            await self._flush(uow)
            code = status(result) if callable(status) else status
            if guarded is not None:
                assert guarded.key is not None
                await self.idempotency.remember(
                    tx.conn, guarded.scope, guarded.key, request_fingerprint, code, body
                )
        return JSONResponse(body, status_code=code)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for queries (``store/queries.py``), outside any use case."""
        async with self.database.read() as conn:
            yield conn

    async def _dispatch(self, command: Any, uow: U) -> Any:
        handler = self.handlers.get(type(command))
        if handler is None:
            raise UnknownCommand(f"no use case handles {type(command).__name__}")
        return await handler(command, uow)

    async def _flush(self, uow: U) -> None:
        await uow.tx.emit_all([data for event in uow.collect() for data in self.outbound(event)])
