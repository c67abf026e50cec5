"""The durable pull consumer every service runs.

The consumer reads the whole stream; messages on subjects the service does not consume are
acknowledged unparsed (ADR 5). A fetched batch is applied in one database transaction
together with its inbox rows while the next batch is fetched (by
:class:`~servicekit.pull.Puller`) and parsed, and acknowledged while the next batch is applied.
A next batch that is not full when fetched takes, once the current one has been applied, what
arrived meanwhile: under a steady trickle of events a batch is whatever came during the last
transaction, not the first message of it (which could not be applied any sooner), so a
transaction, its inbox claim and its commit serve many events instead of one. Once applied,
a batch needs nothing of the database, so its
acknowledgements (and the freeing of its messages and events) wait for the database's replies
to the next one instead of holding it up.

Errors of the infrastructure pause the consumer; only errors of a message count against it
(ADR 12). While the database cannot be reached or cancels statements, or the dead-letter stream
does not take a copy, the consumer holds the messages in hand (reporting them in progress to
the server, so that they are not delivered again meanwhile) and carries on once it answers:
an outage costs the messages no delivery, so it neither delays them by the retry schedule
afterwards nor dead-letters them, however long it lasts (:mod:`servicekit.pauses`).
If the batch fails otherwise, each message is retried alone so that one bad message cannot
hold the others back: it is nak'ed with a growing delay (``servicekit.retries``), and once it
has used up its deliveries (or cannot be parsed at all) it is copied to the dead-letter stream,
logged, and terminated, and the consumer moves on. The server never gives up on a message by
itself (its durable consumers deliver without limit): a message leaves only acknowledged or
stored in the dead-letter stream.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from opentelemetry.trace import SpanKind

from lms_contracts import CloudEvent, EventData, MalformedEvent, UnknownEventType, parse_event

from . import pauses
from .database import Database, Transaction, database_unavailable
from .dead_lettering import GIVEN_UP_UNTRIED, Settling, unsettled
from .inbox import Inbox
from .observability import EVENTS_CONSUMED, REDELIVERIES, correlation_id_var, event_id_var
from .pauses import ConsumerStopping, Pauses
from .pull import Puller
from .retries import RETRIES
from .topology import STREAM
from .tracing import Tracing, parent_var, span

log = logging.getLogger(__name__)
# Messages parsed or acknowledged between two yields to the event loop (about a millisecond).
YIELD_EVERY = 200

Handler = Callable[[Transaction, CloudEvent[Any]], Awaitable[None]]
# A batch handler may return the ids of the events it applied in full: the per-event handlers
# then skip them (the others of the batch still go through them, in order).
BatchHandler = Callable[
    [Transaction, Sequence[CloudEvent[Any]]], Awaitable[Collection[uuid.UUID] | None]
]
Maintenance = Callable[[Transaction], Awaitable[None]]
Parsed = list[tuple[Msg, CloudEvent[Any]]]


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
    # While paused: how often held messages are reported in progress (well within the
    # server's ack wait) and the longest wait between two tries of the infrastructure.
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
        self.pauses = Pauses(
            name,
            progress_every=self.options.hold_progress_every,
            retry_max=self.options.database_retry_max,
        )
        self._stopping = False
        self.running = False  # its loop runs (between the puller's start and stop)
        self._ahead: asyncio.Task[Parsed] | None = None
        self._puller: Puller | None = None
        # messages fetched and not yet settled, being applied or parsed: reported in
        # progress while the consumer is paused
        self._in_hand: list[Msg] = []
        self._preparing: list[Msg] = []
        self._gathering: list[Msg] = []  # fetched ahead, topping up while a batch applies
        self.settling = Settling(
            name, js, self.options.max_deliver, self.options.retry_delays, hold=self._held
        )

    def stop(self) -> None:
        self._stopping = True

    async def run(self) -> None:
        """Fetch and parse the next batch, and acknowledge the previous one, while the current
        one is being applied."""
        puller = self._puller = Puller.of(self.js, STREAM, self.name)
        await puller.start()
        self.running = True
        loop = asyncio.get_running_loop()
        every = self.options.maintenance_every.total_seconds()
        maintenance_due = loop.time() + min(60.0, every)
        ahead: asyncio.Task[Parsed] | None = None
        acking: asyncio.Task[None] | None = None
        applying = asyncio.Event()
        try:
            ahead = self._ahead = asyncio.create_task(self._next_batch(puller))
            while not self._stopping:
                batch = await ahead
                applying = asyncio.Event()
                ahead = self._ahead = asyncio.create_task(self._next_batch(puller, applying))
                try:
                    applied = await self._apply_batch(batch)
                finally:
                    applying.set()
                del batch  # the acknowledging task holds the last reference: it frees them
                if acking is not None:
                    await acking
                acking = asyncio.create_task(self._acknowledge(applied))
                del applied
                if loop.time() >= maintenance_due:
                    maintenance_due = loop.time() + every
                    await self.maintain()
        finally:
            applying.set()
            self.running = False
            if acking is not None:
                await acking
            if ahead is not None:
                await self._return(ahead)
            await self._hand_back(await puller.stop())

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

    async def _next_batch(self, puller: Puller, applying: asyncio.Event | None = None) -> Parsed:
        """The next batch; if it is not full, topped up with what arrives until the batch
        being applied (``applying``) is done."""
        size = self.options.batch_size
        messages = await puller.fetch(size, self.options.fetch_timeout)
        if applying is not None and 0 < len(messages) < size and not applying.is_set():
            self._gathering = messages  # in hand: reported in progress if the consumer pauses
            try:
                await applying.wait()
            finally:
                self._gathering = []
            messages += puller.take(size - len(messages))
        refusal = puller.refusal
        if refusal is not None:
            self.pauses.begin(pauses.PULL_REFUSED, refusal)
        else:
            self.pauses.end(pauses.PULL_REFUSED)
        return await self.prepare(messages)

    async def _return(self, ahead: asyncio.Task[Parsed]) -> None:
        """On the way out, hand a batch fetched ahead back for prompt redelivery."""
        try:
            batch = await ahead
        except (Exception, asyncio.CancelledError):
            return
        await self._hand_back([msg for msg, _ in batch])

    @staticmethod
    async def _hand_back(messages: Sequence[Msg]) -> None:
        """Unsettled messages back to the server for prompt redelivery (to this consumer's
        next process, or another replica)."""
        for msg in messages:
            with suppress(Exception):  # NATS may be away: the ack wait gives them out again
                await msg.nak()

    async def prepare(self, messages: Sequence[Msg]) -> Parsed:
        """Acknowledge what this service does not consume, dead-letter what cannot be parsed
        or was delivered too often to try again, and return the rest parsed."""
        parsed: Parsed = []
        skipped: list[Msg] = []
        refused: list[tuple[Msg, Exception]] = []
        untried_after = self.options.max_deliver + GIVEN_UP_UNTRIED
        redelivered = 0
        for i, msg in enumerate(messages):
            if i % YIELD_EVERY == YIELD_EVERY - 1:
                # Parsing runs while the previous batch is in the database: let its replies
                # through, so that the next statement is not held up by a whole batch's parse.
                await asyncio.sleep(0)
            if self.wanted is not None and not self.wanted(msg.subject):
                skipped.append(msg)
                continue
            deliveries = msg.metadata.num_delivered or 1
            if deliveries > 1:
                redelivered += 1
            if deliveries > untried_after:
                refused.append((msg, unsettled(msg)))
            else:
                try:
                    parsed.append((msg, parse_event(msg.data)))
                except (MalformedEvent, UnknownEventType) as exc:
                    refused.append((msg, exc))
        if redelivered:
            REDELIVERIES.labels(self.name).inc(redelivered)
        if skipped:
            EVENTS_CONSUMED.labels(self.name, "skipped").inc(len(skipped))
            for msg in skipped:
                await msg.ack()
        if refused and not await self._refuse(refused, parsed):
            return []
        return parsed

    async def _refuse(self, refused: list[tuple[Msg, Exception]], parsed: Parsed) -> bool:
        """Dead-letter the refused messages; False if the consumer was stopped meanwhile (the
        batch is then handed back)."""
        self._preparing = [msg for msg, _ in parsed] + [msg for msg, _ in refused]
        try:
            for n, (msg, exc) in enumerate(refused):
                try:
                    await self.settling.dead_letter(msg, exc)
                except ConsumerStopping:
                    await self._hand_back([m for m, _ in refused[n:]] + [m for m, _ in parsed])
                    return False
        finally:
            self._preparing = []
        return True

    async def _apply_batch(self, parsed: Parsed) -> Parsed:
        """Apply a parsed batch in one transaction and return it to be acknowledged; if that
        fails, each message is applied and settled alone and nothing is returned."""
        if not parsed:
            return []
        self._in_hand = [msg for msg, _ in parsed]
        try:
            return await self._apply_or_settle(parsed)
        finally:
            self._in_hand = []

    async def _apply_or_settle(self, parsed: Parsed) -> Parsed:
        try:
            await self._apply_when_reachable(parsed)
        except ConsumerStopping:
            await self._hand_back([msg for msg, _ in parsed])
            return []
        except Exception as exc:
            if len(parsed) > 1:
                log.warning("batch of %d failed, retrying one by one: %s", len(parsed), exc)
            for n, (msg, event) in enumerate(parsed):
                try:
                    await self._process_one(msg, event, exc if len(parsed) == 1 else None)
                except ConsumerStopping:
                    await self._hand_back([m for m, _ in parsed[n:]])
                    break
            return []
        EVENTS_CONSUMED.labels(self.name, "applied").inc(len(parsed))
        return parsed

    async def _acknowledge(self, applied: Parsed) -> None:
        """Acknowledge an applied batch, then let go of it (freeing a batch's messages and
        events is a fair share of its cost, better spent while the database works)."""
        for i, (msg, _) in enumerate(applied):
            if i % YIELD_EVERY == YIELD_EVERY - 1:
                await asyncio.sleep(0)  # as in prepare: the database's replies go on
            await msg.ack()  # buffered by the client: no round trip each
        applied.clear()

    async def _process_one(
        self, msg: Msg, event: CloudEvent[Any], failed: Exception | None = None
    ) -> None:
        """Apply one message (unless it has just ``failed`` alone) and settle it."""
        if failed is None:
            try:
                await self._apply_when_reachable([(msg, event)])
            except ConsumerStopping:
                raise
            except Exception as exc:
                failed = exc
        if failed is not None:
            await self.settling.failed(msg, event, failed)
            return
        EVENTS_CONSUMED.labels(self.name, "applied").inc()
        await msg.ack()

    async def _apply_when_reachable(self, held: Parsed) -> None:
        """Apply; while the database cannot serve, hold the messages and try again once it
        answers. An outage is no fault of the messages: it costs them no delivery (no retry
        delay to wait out afterwards, no dead letter after a long one)."""
        try:
            while True:
                try:
                    await self._apply([event for _, event in held])
                    return
                except Exception as exc:
                    if not database_unavailable(exc):
                        raise
                    # one pause until the batch applies (the database may answer a ping and
                    # still cancel the batch's statements, while a lock is held, say)
                    await self._held(
                        pauses.DATABASE, exc, self.database.ping, database_unavailable, keep=True
                    )
        finally:
            self.pauses.end(pauses.DATABASE)

    async def _held(
        self,
        reason: str,
        exc: Exception,
        attempt: Callable[[], Awaitable[Any]],
        still_away: Callable[[Exception], bool] = lambda _: True,
        *,
        keep: bool = False,
    ) -> None:
        """Paused, holding the messages in hand, until ``attempt`` succeeds (the pause then
        ends, unless the caller ``keep``s it to end it itself)."""
        try:
            await self.pauses.wait_out(
                reason,
                exc,
                attempt,
                still_away=still_away,
                report=self._report_progress,
                stopping=lambda: self._stopping,
            )
        finally:
            if not keep:
                self.pauses.end(reason)

    async def _report_progress(self) -> None:
        """Tell the server that the messages in hand, and those fetched ahead, are in
        progress, so that it does not deliver them again while the consumer is paused."""
        messages = self._in_hand + self._preparing + self._gathering
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
            applied: Collection[uuid.UUID] | None = None
            if self.subscription.batch_handler is not None and todo:
                if Tracing.enabled:
                    links = [e.traceparent for e in todo]
                    with span(f"{self.name} apply batch", kind=SpanKind.CONSUMER, links=links):
                        applied = await self.subscription.batch_handler(tx, todo)
                else:
                    applied = await self.subscription.batch_handler(tx, todo)
            if not self.subscription.handlers:
                return
            for event in todo:
                if applied and event.id in applied:
                    continue
                handler = self.subscription.handler_for(event)
                if handler is not None:
                    await self._handle(tx, handler, event)

    async def _handle(self, tx: Transaction, handler: Handler, event: CloudEvent[Any]) -> None:
        """One event in the batch's transaction, with its correlation id and trace context
        (on every log line it causes, and every event it writes)."""
        tx.correlation_id = event.correlationid or str(event.id)
        tx.causation_id = str(event.id)
        correlation_token = correlation_id_var.set(tx.correlation_id)
        event_token = event_id_var.set(str(event.id))
        try:
            if Tracing.enabled:
                name = f"{self.name} apply {event.type}"
                with span(name, event.traceparent, kind=SpanKind.CONSUMER):
                    await handler(tx, event)
            else:
                trace_token = parent_var.set(event.traceparent)
                try:
                    await handler(tx, event)
                finally:
                    parent_var.reset(trace_token)
        finally:
            correlation_id_var.reset(correlation_token)
            event_id_var.reset(event_token)
