"""Transactional outbox and its relay to JetStream.

Events are written in the transaction that changes state. The relay wakes on the NOTIFY that
the commit delivers, publishes unsent rows concurrently with ``Nats-Msg-Id`` = event id,
waits for every JetStream ack and only then marks rows sent. Rows are chosen by
``sent_at IS NULL`` (never "id greater than last seen"), so a row committed late by a slow
transaction is never skipped. A crash between publish and mark-sent re-publishes the rows,
and JetStream's de-duplication window absorbs the copies.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from nats.js import JetStreamContext
from opentelemetry.trace import SpanKind
from sqlalchemy import Table, and_, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from lms_contracts import CloudEvent, EventData, new_event, subject_of

from .observability import RELAY_FAILURES, RELAY_PUBLISHED
from .topology import STREAM
from .tracing import Tracing, span, trace_id_of, traceparent_for, valid

log = logging.getLogger(__name__)
NOTIFY_CHANNEL = "lms_outbox"
TRACEPARENT_KEY = b'"traceparent"'


def traceparent_in(payload: bytes, correlation_id: str | None) -> str:
    """The event's own ``traceparent`` (found in its JSON without parsing it, written by
    pydantic or by PostgreSQL's ``json_build_object``, which puts spaces around the colon),
    else one of its correlation id."""
    key = payload.find(TRACEPARENT_KEY)
    if key >= 0:
        opening = payload.find(b'"', key + len(TRACEPARENT_KEY))
        if opening > 0 and not payload[key + len(TRACEPARENT_KEY) : opening].strip(b" :"):
            found = valid(payload[opening + 1 : opening + 56].decode("ascii", "replace"))
            if found is not None:
                return found
    return f"00-{trace_id_of(correlation_id)}-{uuid.uuid4().hex[:16]}-01"


class Outbox:
    def __init__(self, table: Table) -> None:
        self.table = table

    @staticmethod
    def row(
        data: EventData,
        *,
        subject: str | None = None,
        correlation_id: str | None = None,
        causation_id: str | None = None,
    ) -> tuple[CloudEvent[Any], dict[str, Any]]:
        """The envelope of ``data`` and its outbox row, for callers writing their own SQL."""
        event_id = uuid.uuid4()
        event = new_event(
            data,
            subject=subject,
            correlation_id=correlation_id,
            causation_id=causation_id,
            event_id=event_id,
            traceparent=traceparent_for(event_id, correlation_id),
        )
        return event, {
            "event_id": event.id,
            "subject": subject_of(data),
            "event_type": event.type,
            "payload": event.to_json(),
            "correlation_id": event.correlationid,
        }

    async def add(
        self,
        conn: AsyncConnection,
        data: EventData,
        *,
        subject: str | None = None,
        correlation_id: str | None = None,
        causation_id: str | None = None,
    ) -> CloudEvent[Any]:
        if Tracing.enabled:
            with span("outbox write", attributes={"cloudevents.event_type": data.event_type}):
                return await self._add(conn, data, subject, correlation_id, causation_id)
        return await self._add(conn, data, subject, correlation_id, causation_id)

    async def _add(
        self,
        conn: AsyncConnection,
        data: EventData,
        subject: str | None,
        correlation_id: str | None,
        causation_id: str | None,
    ) -> CloudEvent[Any]:
        event, values = self.row(
            data, subject=subject, correlation_id=correlation_id, causation_id=causation_id
        )
        await conn.execute(self.table.insert().values(**values))
        await conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})
        return event

    async def add_all(
        self,
        conn: AsyncConnection,
        events: list[EventData],
        *,
        correlation_id: str | None = None,
        causation_id: str | None = None,
    ) -> list[CloudEvent[Any]]:
        """Several events in one statement (and one wake-up of the relay), in their order."""
        rows = [
            self.row(data, correlation_id=correlation_id, causation_id=causation_id)
            for data in events
        ]
        await conn.execute(self.table.insert(), [values for _, values in rows])
        await conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})
        return [event for event, _ in rows]

    async def republish_since(self, conn: AsyncConnection, window: timedelta) -> int:
        """Mark a recent window unsent again, e.g. after an unclean broker restart."""
        result = await conn.execute(
            update(self.table)
            .where(self.table.c.sent_at >= func.now() - window)
            .values(sent_at=None)
        )
        await conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})
        return int(result.rowcount or 0)

    async def backlog(self, conn: AsyncConnection) -> int:
        query = select(func.count()).select_from(self.table).where(self.table.c.sent_at.is_(None))
        return int((await conn.execute(query)).scalar_one())

    async def oldest_unsent_age(self, conn: AsyncConnection) -> float:
        """Seconds since the oldest unsent row was committed (0 when every row is sent): how
        far behind the relay is. One look at the unsent rows' index."""
        oldest = func.min(self.table.c.created_at)
        query = select(func.coalesce(func.extract("epoch", func.now() - oldest), 0)).where(
            self.table.c.sent_at.is_(None)
        )
        return max(0.0, float((await conn.execute(query)).scalar_one()))


@dataclass(frozen=True)
class RelayBatch:
    published: int
    failed: int
    full: bool


class OutboxRelay:
    """Publishes committed outbox rows to JetStream; one per service process.

    It listens for the commits' NOTIFY on a connection of its own. A listening connection
    can be lost without a word to the code holding it (PostgreSQL restarted, a failover,
    the backend terminated): asyncpg's termination callback, and a cheap query every
    ``listener_check_seconds`` for a connection that went silent, make the relay listen
    again on a new one, publishing whatever committed meanwhile. Failures back off up to
    ``max_backoff_seconds``: at most that long after PostgreSQL or NATS returns, the relay
    publishes again within milliseconds of each commit.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        js: JetStreamContext,
        outbox: Outbox,
        *,
        batch_size: int = 500,
        retention: timedelta = timedelta(hours=72),
        idle_poll_seconds: float = 2.0,
        max_backoff_seconds: float = 5.0,
        listener_check_seconds: float = 15.0,
    ) -> None:
        self.engine = engine
        self.js = js
        self.table = outbox.table
        self.batch_size = batch_size
        self.retention = retention
        self.idle_poll_seconds = idle_poll_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.listener_check_seconds = listener_check_seconds
        self._wake = asyncio.Event()  # a commit's NOTIFY, a lost listener, stop()
        self._stopped = asyncio.Event()
        self._stopping = False
        self._listener: AsyncConnection | None = None
        self._listener_driver: Any = None
        self._listener_lost = False
        self._listener_checked_at = 0.0

    @property
    def listening(self) -> bool:
        return self._listener is not None and not self._listener_lost

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        self._stopped.set()

    async def run(self) -> None:
        backoff = 0.1
        purge_due = 0.0
        loop = asyncio.get_running_loop()
        try:
            while not self._stopping:
                try:
                    await self._keep_listening()
                    self._wake.clear()  # a commit from now on wakes the idle wait below
                    batch = await self.publish_pending()
                    if batch.failed:
                        raise RuntimeError(f"{batch.failed} publishes were not acknowledged")
                    backoff = 0.1
                    if loop.time() >= purge_due:
                        await self.purge_sent()
                        purge_due = loop.time() + 600
                    if not batch.full:
                        await _wait(self._wake, self.idle_poll_seconds)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    RELAY_FAILURES.inc()
                    log.warning("outbox relay retrying in %.1fs: %s", backoff, exc)
                    await _wait(self._stopped, backoff)
                    backoff = min(backoff * 2, self.max_backoff_seconds)
        finally:
            await self._drop_listener()

    async def _keep_listening(self) -> None:
        """Listen on a working connection: drop a lost one, check a quiet one now and then."""
        loop = asyncio.get_running_loop()
        quiet_for = loop.time() - self._listener_checked_at
        if self.listening and quiet_for >= self.listener_check_seconds:
            try:
                await asyncio.wait_for(self._listener_driver.fetchval("SELECT 1"), 5)
                self._listener_checked_at = loop.time()
            except Exception as exc:
                log.warning("outbox relay lost its listening connection: %r", exc)
                self._listener_lost = True
        if self._listener_lost:
            await self._drop_listener()
        if self._listener is None:
            self._listener = await self._listen()
            self._listener_checked_at = loop.time()

    async def _listen(self) -> AsyncConnection:
        conn = await self.engine.connect()
        try:
            driver = (await conn.get_raw_connection()).driver_connection
            assert driver is not None
            self._listener_driver, self._listener_lost = driver, False
            driver.add_termination_listener(self._terminated)
            await driver.add_listener(NOTIFY_CHANNEL, self._notified)
        except BaseException:
            self._listener_driver = None
            await self._discard(conn)
            raise
        return conn

    async def _drop_listener(self) -> None:
        conn, self._listener, self._listener_driver = self._listener, None, None
        self._listener_lost = False
        if conn is not None:
            await self._discard(conn)

    @staticmethod
    async def _discard(conn: AsyncConnection) -> None:
        """Close a listening connection, never handing a broken one back to the pool."""
        with suppress(Exception):
            await conn.invalidate()
        with suppress(Exception):
            await conn.close()

    def _terminated(self, driver: Any) -> None:
        if driver is self._listener_driver:
            self._listener_lost = True
            self._wake.set()

    def _notified(self, *_: Any) -> None:
        self._wake.set()

    async def publish_pending(self) -> RelayBatch:
        """Publish one batch of unsent rows and mark the acknowledged ones sent."""
        table = self.table
        async with self.engine.begin() as conn:
            rows = (
                await conn.execute(
                    select(
                        table.c.event_id, table.c.subject, table.c.payload, table.c.correlation_id
                    )
                    .where(table.c.sent_at.is_(None))
                    .order_by(table.c.created_at)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return RelayBatch(0, 0, full=False)
            results = await self._publish_all(rows)
            acked = [
                row.event_id
                for row, result in zip(rows, results, strict=True)
                if not isinstance(result, BaseException)
            ]
            failed = len(rows) - len(acked)
            if acked:
                await conn.execute(
                    update(table).where(table.c.event_id.in_(acked)).values(sent_at=func.now())
                )
            if failed:
                await conn.execute(
                    update(table)
                    .where(
                        and_(
                            table.c.event_id.in_([r.event_id for r in rows]),
                            table.c.sent_at.is_(None),
                        )
                    )
                    .values(attempts=table.c.attempts + 1)
                )
        RELAY_PUBLISHED.inc(len(acked))
        return RelayBatch(len(acked), failed, full=len(rows) == self.batch_size)

    async def _publish_all(self, rows: Sequence[Any]) -> list[Any]:
        """Publish rows concurrently; each result is its ack or the error it got. With tracing
        on, the batch is one span linked to every event's trace."""
        if not Tracing.enabled:
            return await asyncio.gather(*map(self._publish, rows), return_exceptions=True)
        traces = [traceparent_in(bytes(row.payload), row.correlation_id) for row in rows]
        with span("outbox relay publish", kind=SpanKind.PRODUCER, links=traces) as current:
            if current is not None:
                current.set_attribute("messaging.batch.message_count", len(rows))
            return await asyncio.gather(*map(self._publish, rows), return_exceptions=True)

    async def _publish(self, row: Any) -> None:
        payload = bytes(row.payload)
        headers = {
            "Nats-Msg-Id": str(row.event_id),
            "traceparent": traceparent_in(payload, row.correlation_id),
        }
        await self.js.publish(row.subject, payload, headers=headers, stream=STREAM)

    async def purge_sent(self) -> int:
        async with self.engine.begin() as conn:
            result = await conn.execute(
                self.table.delete().where(self.table.c.sent_at < func.now() - self.retention)
            )
        return int(result.rowcount or 0)


async def _wait(event: asyncio.Event, seconds: float) -> None:
    with suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)
