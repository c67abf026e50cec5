"""The durable pull consumer every service runs.

The consumer reads the whole stream; messages on subjects the service does not consume are
acknowledged unparsed (ADR 5). A fetched batch is applied in one database transaction
together with its inbox rows while the next batch is fetched (by
:class:`~servicekit.pull.Puller`) and parsed, and acknowledged while the next batch is applied:
once its transaction has committed, a batch needs nothing of the database, so its
acknowledgements (and the freeing of its messages and events) wait for the database's replies
to the next one instead of holding it up.
While the database cannot be reached, the batch is held (reported in progress to the server)
and applied once it answers: an outage costs the messages no delivery, so it neither delays
them by the retry schedule afterwards nor dead-letters them.
If the batch fails otherwise, each message is retried alone so that one bad message cannot
hold the others back: it is nak'ed with a growing delay (``servicekit.retries``), and once it
has used up its deliveries (or cannot be parsed at all) it is copied to the dead-letter stream
and terminated, and the consumer moves on.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from nats.aio.msg import Msg
from nats.js import JetStreamContext

from lms_contracts import CloudEvent, EventData, MalformedEvent, UnknownEventType, parse_event

from .database import Database, Transaction, database_unavailable
from .inbox import Inbox
from .observability import DEAD_LETTERS, EVENTS_CONSUMED, correlation_id_var, event_id_var
from .pull import Puller
from .retries import RETRIES, retry_delay
from .topology import STREAM, dlq_subject

log = logging.getLogger(__name__)
# Messages parsed or acknowledged between two yields to the event loop (about a millisecond).
YIELD_EVERY = 200

Handler = Callable[[Transaction, CloudEvent[Any]], Awaitable[None]]
BatchHandler = Callable[[Transaction, Sequence[CloudEvent[Any]]], Awaitable[None]]
Maintenance = Callable[[Transaction], Awaitable[None]]


@dataclass
class Subscription:
    """What a service does with the events it consumes: the one table per service."""

    handlers: Mapping[type[EventData], Handler] = field(default_factory=dict)
    batch_handler: BatchHandler | None = None
    # False when applying an event again changes nothing by itself (a projection whose every
    # rule is a maximum, a flag or a set): the consumer then keeps no inbox rows for it.
    needs_inbox: bool = True
    # Housekeeping of what the handlers write (dropping rows that no longer count, say), run
    # in its own transaction on the inbox purge's schedule.
    maintenance: Maintenance | None = None

    def handler_for(self, event: CloudEvent[Any]) -> Handler | None:
        return self.handlers.get(type(event.data))


@dataclass
class ConsumerOptions:
    batch_size: int = 200
    max_deliver: int = RETRIES.max_deliver
    retry_delays: Sequence[float] = RETRIES.delays
    fetch_timeout: float = 1.0
    inbox_retention: timedelta = timedelta(days=30)
    # The inbox purge and the subscription's maintenance: first a minute after start (or
    # sooner if this is shorter), then at this interval.
    maintenance_every: timedelta = timedelta(minutes=10)
    # While the database cannot be reached: how often held messages are reported in
    # progress (well within the server's ack wait) and the longest pause between two tries.
    hold_progress_every: float = 2.0
    database_retry_max: float = 2.0


class Consumer:
    def __init__(
        self,
        name: str,
        js: JetStreamContext,
        database: Database,
        inbox: Inbox,
        subscription: Subscription,
        options: ConsumerOptions | None = None,
        wanted: Callable[[str], bool] | None = None,
    ) -> None:
        self.name = name
        self.wanted = wanted
        self.js = js
        self.database = database
        self.inbox = inbox
        self.subscription = subscription
        self.options = options or ConsumerOptions()
        self._stopping = False
        self._ahead: asyncio.Task[list[tuple[Msg, CloudEvent[Any]]]] | None = None
        self._puller: Puller | None = None

    def stop(self) -> None:
        self._stopping = True

    async def run(self) -> None:
        """Fetch and parse the next batch, and acknowledge the previous one, while the current
        one is being applied."""
        # The context's own connection and API prefix (nats-py keeps both on the context).
        puller = self._puller = Puller(self.js._nc, STREAM, self.name, self.js._prefix)
        await puller.start()
        loop = asyncio.get_running_loop()
        every = self.options.maintenance_every.total_seconds()
        maintenance_due = loop.time() + min(60.0, every)
        ahead: asyncio.Task[list[tuple[Msg, CloudEvent[Any]]]] | None = None
        acking: asyncio.Task[None] | None = None
        try:
            ahead = self._ahead = asyncio.create_task(self._next_batch(puller))
            while not self._stopping:
                batch = await ahead
                ahead = self._ahead = asyncio.create_task(self._next_batch(puller))
                applied = await self._apply_batch(batch)
                del batch  # the acknowledging task holds the last reference: it frees them
                if acking is not None:
                    await acking
                acking = asyncio.create_task(self._acknowledge(applied))
                del applied
                if loop.time() >= maintenance_due:
                    maintenance_due = loop.time() + every
                    await self.maintain()
        finally:
            if acking is not None:
                await acking
            if ahead is not None:
                await self._return(ahead)
            for msg in await puller.stop():
                await msg.nak()

    async def maintain(self) -> None:
        """Purge the inbox and run the subscription's maintenance; a failure is logged and
        the next run tries again, the consumer carries on."""
        try:
            async with self.database.transaction() as tx:
                await self.inbox.purge(tx.conn, self.options.inbox_retention)
            if self.subscription.maintenance is not None:
                async with self.database.transaction() as tx:
                    await self.subscription.maintenance(tx)
        except Exception:
            log.exception("consumer maintenance failed; retried at the next run")

    async def _next_batch(self, puller: Puller) -> list[tuple[Msg, CloudEvent[Any]]]:
        messages = await puller.fetch(self.options.batch_size, self.options.fetch_timeout)
        return await self.prepare(messages)

    async def _return(self, ahead: asyncio.Task[list[tuple[Msg, CloudEvent[Any]]]]) -> None:
        """On the way out, hand a batch fetched ahead back for prompt redelivery."""
        try:
            batch = await ahead
        except (Exception, asyncio.CancelledError):
            return
        for msg, _ in batch:
            await msg.nak()

    async def prepare(self, messages: Sequence[Msg]) -> list[tuple[Msg, CloudEvent[Any]]]:
        """Acknowledge what this service does not consume, dead-letter what cannot be parsed,
        and return the rest parsed."""
        parsed: list[tuple[Msg, CloudEvent[Any]]] = []
        skipped: list[Msg] = []
        for i, msg in enumerate(messages):
            if i % YIELD_EVERY == YIELD_EVERY - 1:
                # Parsing runs while the previous batch is in the database: let its replies
                # through, so that the next statement is not held up by a whole batch's parse.
                await asyncio.sleep(0)
            if self.wanted is not None and not self.wanted(msg.subject):
                skipped.append(msg)
                continue
            try:
                parsed.append((msg, parse_event(msg.data)))
            except (MalformedEvent, UnknownEventType) as exc:
                await self._dead_letter(msg, exc)
        if skipped:
            EVENTS_CONSUMED.labels(self.name, "skipped").inc(len(skipped))
            for msg in skipped:
                await msg.ack()
        return parsed

    async def _apply_batch(
        self, parsed: Sequence[tuple[Msg, CloudEvent[Any]]]
    ) -> list[tuple[Msg, CloudEvent[Any]]]:
        """Apply a parsed batch in one transaction and return it to be acknowledged; if that
        fails, each message is applied and settled alone and nothing is returned."""
        if not parsed:
            return []
        try:
            await self._apply_when_reachable(parsed)
        except Exception as exc:
            if len(parsed) == 1:
                await self._failed(*parsed[0], exc)
                return []
            log.warning("batch of %d failed, retrying one by one: %s", len(parsed), exc)
            for msg, event in parsed:
                await self._process_one(msg, event)
            return []
        EVENTS_CONSUMED.labels(self.name, "applied").inc(len(parsed))
        return list(parsed)

    async def _acknowledge(self, applied: list[tuple[Msg, CloudEvent[Any]]]) -> None:
        """Acknowledge an applied batch, then let go of it (freeing a batch's messages and
        events is a fair share of its cost, better spent while the database works)."""
        for i, (msg, _) in enumerate(applied):
            if i % YIELD_EVERY == YIELD_EVERY - 1:
                await asyncio.sleep(0)  # as in prepare: the database's replies go on
            await msg.ack()  # buffered by the client: no round trip each
        applied.clear()

    async def _process_one(self, msg: Msg, event: CloudEvent[Any]) -> None:
        try:
            await self._apply_when_reachable([(msg, event)])
        except Exception as exc:
            await self._failed(msg, event, exc)
            return
        EVENTS_CONSUMED.labels(self.name, "applied").inc()
        await msg.ack()

    async def _apply_when_reachable(self, held: Sequence[tuple[Msg, CloudEvent[Any]]]) -> None:
        """Apply; while the database cannot be reached, hold the messages and try again once
        it answers. An outage is no fault of the messages: it costs them no delivery (no
        retry delay to wait out afterwards, no dead letter after a long one)."""
        while True:
            try:
                await self._apply([event for _, event in held])
                return
            except Exception as exc:
                if self._stopping or not database_unavailable(exc):
                    raise
                await self._await_database(held, exc)

    async def _await_database(
        self, held: Sequence[tuple[Msg, CloudEvent[Any]]], exc: Exception
    ) -> None:
        """Until the database answers (or the consumer stops), telling the server every
        ``hold_progress_every`` seconds that the held messages, and those fetched ahead, are
        in progress, so that it does not deliver them again meanwhile."""
        loop = asyncio.get_running_loop()
        started = progressed = loop.time()
        pause = 0.1
        log.warning("database unavailable, holding %d messages: %r", len(held), exc)
        while not self._stopping:
            await asyncio.sleep(pause)
            pause = min(pause * 2, self.options.database_retry_max)
            if loop.time() - progressed >= self.options.hold_progress_every:
                await self._report_progress(held)
                progressed = loop.time()
            try:
                await self.database.ping()
            except Exception as again:
                if not database_unavailable(again):
                    raise
                continue
            log.warning("database answers again after %.1fs", loop.time() - started)
            return

    async def _report_progress(self, held: Sequence[tuple[Msg, CloudEvent[Any]]]) -> None:
        messages = [msg for msg, _ in held]
        ahead = self._ahead
        if ahead is not None and ahead.done() and not ahead.cancelled() and not ahead.exception():
            messages += [msg for msg, _ in ahead.result()]
        if self._puller is not None:
            messages += self._puller.buffered()
        for msg in messages:
            with suppress(Exception):  # NATS may be away too: the server redelivers later
                await msg.in_progress()

    async def _apply(self, events: Sequence[CloudEvent[Any]]) -> None:
        unique: dict[uuid.UUID, CloudEvent[Any]] = {}
        for event in events:
            unique.setdefault(event.id, event)
        async with self.database.transaction() as tx:
            todo = list(unique.values())
            if self.subscription.needs_inbox:
                fresh = await self.inbox.claim(tx.conn, [(e.id, e.type) for e in todo])
                todo = [e for e in todo if e.id in fresh]
            if self.subscription.batch_handler is not None and todo:
                await self.subscription.batch_handler(tx, todo)
            if not self.subscription.handlers:
                return
            for event in todo:
                handler = self.subscription.handler_for(event)
                if handler is None:
                    continue
                tx.correlation_id = event.correlationid or str(event.id)
                tx.causation_id = str(event.id)
                correlation_token = correlation_id_var.set(tx.correlation_id)
                event_token = event_id_var.set(str(event.id))
                try:
                    await handler(tx, event)
                finally:
                    correlation_id_var.reset(correlation_token)
                    event_id_var.reset(event_token)

    async def _failed(self, msg: Msg, event: CloudEvent[Any], exc: Exception) -> None:
        deliveries = msg.metadata.num_delivered or 1
        token = event_id_var.set(str(event.id))
        try:
            if deliveries >= self.options.max_deliver:
                log.error("giving up on %s after %d deliveries: %s", event.type, deliveries, exc)
                await self._dead_letter(msg, exc, event.type)
                return
            delay = retry_delay(self.options.retry_delays, deliveries)
            log.warning(
                "handling %s failed (delivery %d), retry in %.1fs: %r",
                event.type,
                deliveries,
                delay,
                exc,
            )
            EVENTS_CONSUMED.labels(self.name, "retried").inc()
            await msg.nak(delay=delay)
        finally:
            event_id_var.reset(token)

    async def _dead_letter(self, msg: Msg, exc: Exception, event_type: str = "") -> None:
        meta = msg.metadata
        headers = {
            "Nats-Msg-Id": f"{self.name}:{meta.sequence.stream}",
            "Lms-Consumer": self.name,
            "Lms-Subject": msg.subject,
            "Lms-Stream-Sequence": str(meta.sequence.stream),
            "Lms-Deliveries": str(meta.num_delivered),
            "Lms-Error": f"{type(exc).__name__}: {exc}"[:1000],
        }
        if event_type:
            headers["Lms-Event-Type"] = event_type
        try:
            await self.js.publish(dlq_subject(self.name), msg.data, headers=headers)
        except Exception:
            log.exception("could not dead-letter stream sequence %s", meta.sequence.stream)
            await msg.nak(delay=self.options.retry_delays[-1])
            return
        DEAD_LETTERS.labels(self.name).inc()
        EVENTS_CONSUMED.labels(self.name, "dead_lettered").inc()
        await msg.term()
