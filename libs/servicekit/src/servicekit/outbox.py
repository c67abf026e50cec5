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
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from nats.js import JetStreamContext
from sqlalchemy import Table, and_, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from lms_contracts import CloudEvent, EventData, new_event, subject_of

from .observability import RELAY_FAILURES, RELAY_PUBLISHED
from .topology import STREAM

log = logging.getLogger(__name__)
NOTIFY_CHANNEL = "lms_outbox"


def traceparent(correlation_id: str | None) -> str:
    """W3C trace context: the correlation id (a UUID) is the trace id."""
    try:
        trace_id = uuid.UUID(str(correlation_id)).hex
    except ValueError:
        trace_id = uuid.uuid4().hex
    return f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01"


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
        event = new_event(
            data, subject=subject, correlation_id=correlation_id, causation_id=causation_id
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
        event, values = self.row(
            data, subject=subject, correlation_id=correlation_id, causation_id=causation_id
        )
        await conn.execute(self.table.insert().values(**values))
        await conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})
        return event

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


@dataclass(frozen=True)
class RelayBatch:
    published: int
    failed: int
    full: bool


class OutboxRelay:
    """Publishes committed outbox rows to JetStream; one per service process."""

    def __init__(
        self,
        engine: AsyncEngine,
        js: JetStreamContext,
        outbox: Outbox,
        *,
        batch_size: int = 500,
        retention: timedelta = timedelta(hours=72),
        idle_poll_seconds: float = 2.0,
        max_backoff_seconds: float = 30.0,
    ) -> None:
        self.engine = engine
        self.js = js
        self.table = outbox.table
        self.batch_size = batch_size
        self.retention = retention
        self.idle_poll_seconds = idle_poll_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self._wake = asyncio.Event()
        self._stopping = False

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        backoff = 0.1
        listener: AsyncConnection | None = None
        purge_due = 0.0
        loop = asyncio.get_running_loop()
        while not self._stopping:
            try:
                if listener is None:
                    listener = await self._listen()
                batch = await self.publish_pending()
                if batch.failed:
                    raise RuntimeError(f"{batch.failed} publishes were not acknowledged")
                backoff = 0.1
                if loop.time() >= purge_due:
                    await self.purge_sent()
                    purge_due = loop.time() + 600
                if batch.full:
                    continue
                self._wake.clear()
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.idle_poll_seconds)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                RELAY_FAILURES.inc()
                log.warning("outbox relay retrying in %.1fs: %s", backoff, exc)
                if listener is not None and listener.closed:
                    listener = None
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff_seconds)
        if listener is not None:
            await listener.close()

    async def _listen(self) -> AsyncConnection:
        conn = await self.engine.connect()
        raw = await conn.get_raw_connection()
        await raw.driver_connection.add_listener(NOTIFY_CHANNEL, self._notified)  # type: ignore[union-attr]
        return conn

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
            results = await asyncio.gather(
                *(self._publish(row) for row in rows), return_exceptions=True
            )
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

    async def _publish(self, row: Any) -> None:
        headers = {
            "Nats-Msg-Id": str(row.event_id),
            "traceparent": traceparent(row.correlation_id),
        }
        await self.js.publish(row.subject, bytes(row.payload), headers=headers, stream=STREAM)

    async def purge_sent(self) -> int:
        async with self.engine.begin() as conn:
            result = await conn.execute(
                self.table.delete().where(self.table.c.sent_at < func.now() - self.retention)
            )
        return int(result.rowcount or 0)
