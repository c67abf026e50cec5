"""The subscriber kit: a region's events, typed, on FastStream's JetStream pull subscriber."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import nats
from faststream import FastStream
from faststream.middlewares import AckPolicy
from faststream.nats import JStream, NatsBroker, PullSub
from faststream.security import SASLPlaintext

from ..envelope import CloudEvent, EventData
from ..subjects import STREAM, format_region_code, regional_consumer
from .dispatch import Dispatcher
from .durables import Checkpoint, Durable, catalog, checkpoint, consumer_config, rewind
from .durables import learner_events as learner_durable

log = logging.getLogger("lms_contracts.subscriber")
D = TypeVar("D", bound=EventData)
TypedHandler = Callable[[CloudEvent[D]], Any]


class Subscriber:
    """Follow a province's or regency's events with a handler per event type.

        kit = Subscriber("74", url="nats://nats.lms.example:4222", password=...)

        @kit.on(LessonCompleted)
        async def lesson_done(event: CloudEvent[LessonCompleted]) -> None: ...

        await kit.run()                     # or: since=datetime(...) to replay

    Each durable consumer (``region-74`` for the learner events, ``region-74-catalog`` for the
    course catalog, made only if a catalog handler is registered) lives on the server, so a
    restart resumes where the last acknowledgement left off. Handlers run one message after
    another; a message is acknowledged after its handler returns, so a handler must be
    idempotent by event id (a replay, or a crash before the acknowledgement, delivers it
    again): see ``lms_contracts.subscriber.postgres``.
    """

    def __init__(
        self,
        region_code: str,
        *,
        url: str = "nats://127.0.0.1:4222",
        user: str | None = None,
        password: str = "",
        batch_size: int = 100,
        max_wait: float = 1.0,
        max_ack_pending: int = 1000,
        ack_wait: float = 60.0,
    ) -> None:
        self.region_code = format_region_code(region_code)
        self.url, self.password = url, password
        self.user = user or regional_consumer(region_code)
        self.batch_size, self.max_wait = batch_size, max_wait
        self.max_ack_pending, self.ack_wait = max_ack_pending, ack_wait
        self.dispatcher = Dispatcher()
        self.broker: NatsBroker | None = None

    def on(self, *events: type[D]) -> Callable[[TypedHandler[D]], TypedHandler[D]]:
        """Register the decorated coroutine for ``events`` (classes of ``lms_contracts``)."""

        def register(handler: TypedHandler[D]) -> TypedHandler[D]:
            self.dispatcher.register(events, handler)
            return handler

        return register

    @property
    def counts(self) -> dict[str, int]:
        """Messages handled, skipped (no handler), unknown, malformed and failed so far."""
        return dict(self.dispatcher.counts)

    def durables(self) -> list[Durable]:
        handled = self.dispatcher.handled()
        if not handled:
            raise RuntimeError("register a handler first: @kit.on(LessonCompleted) ...")
        wanted = []
        if any(event.regional for event in handled):
            wanted.append(learner_durable(self.region_code))
        if any(not event.regional for event in handled):
            wanted.append(catalog(self.region_code))
        return wanted

    def build(self, *, since: datetime | None = None) -> NatsBroker:
        """The FastStream broker with one pull subscriber per durable; never declares the
        stream (the platform owns it; a regional user may not touch it)."""
        inbox = f"_INBOX_{self.user}"
        broker = NatsBroker(
            self.url,
            security=SASLPlaintext(username=self.user, password=self.password),
            inbox_prefix=inbox,
            name=f"lms-subscriber-{self.user}",
            max_reconnect_attempts=-1,
            reconnect_time_wait=2,
            logger=log,
            log_level=logging.DEBUG,  # FastStream's line per batch
        )
        stream = JStream(STREAM, declare=False)
        for durable in self.durables():
            subscriber = broker.subscriber(
                durable.filter_subject,
                stream=stream,
                durable=durable.name,
                config=consumer_config(
                    durable,
                    max_ack_pending=self.max_ack_pending,
                    ack_wait=self.ack_wait,
                ),
                pull_sub=PullSub(batch_size=self.batch_size, timeout=self.max_wait, batch=True),
                # Settled message by message by the dispatcher; on anything it did not
                # settle, FastStream's default would drop the message: hand it back instead.
                ack_policy=AckPolicy.NACK_ON_ERROR,
                inbox_prefix=f"{inbox}.".encode(),
                decoder=_pulled_messages,
                title=durable.name,
                description=f"{durable.filter_subject} on the {STREAM} stream",
            )
            subscriber(self._batch_handler())
        self.broker = broker
        return broker

    def _batch_handler(self) -> Callable[[Any], Any]:
        async def deliver(messages: Any) -> None:
            await self.dispatcher.deliver(messages)

        return deliver

    def app(self) -> FastStream:
        """A FastStream application, for ``faststream run module:app`` (starts from where
        the durables stand; a replay goes through :meth:`run`)."""
        broker = self.build()

        async def settle() -> None:
            await broker.connect()
            settle_idle_fetches(broker)

        return FastStream(broker, logger=log, on_startup=[settle])

    async def start(self, *, since: datetime | None = None) -> None:
        broker = self.build(since=since)
        connection = await broker.connect()
        self.dispatcher.since = since
        if since is not None:
            await rewind(connection.jetstream(), self.durables())
            log.info("replaying from %s", since.isoformat())
        settle_idle_fetches(broker)
        await broker.start()
        log.info("following %s as %s on %s", self.region_code, self.user, self.url)

    async def close(self) -> None:
        """Stop pulling; what was pulled and not acknowledged is delivered again later."""
        broker, self.broker = self.broker, None
        if broker is None:
            return
        try:
            await broker.stop()
        except Exception as exc:  # the server went away first: nothing left to tell it
            log.warning("stopped without the server's goodbye: %r", exc)

    async def run(
        self, *, since: datetime | None = None, stop: asyncio.Event | None = None
    ) -> None:
        """Follow until ``stop`` is set (or the task is cancelled)."""
        await self.start(since=since)
        try:
            await (stop or asyncio.Event()).wait()
        finally:
            await self.close()

    async def checkpoints(self) -> list[Checkpoint]:
        """Where each durable stands on the server (its acknowledged stream sequence, when,
        and how much is still to come)."""
        connection = await nats.connect(
            self.url,
            user=self.user,
            password=self.password,
            inbox_prefix=f"_INBOX_{self.user}",
            allow_reconnect=False,
        )
        try:
            js = connection.jetstream()
            return [await checkpoint(js, durable) for durable in self.durables()]
        finally:
            await connection.close()


async def _pulled_messages(message: Any) -> Any:
    """Hand the handler nats-py's messages themselves: the dispatcher parses and settles."""
    return message.raw_message


def settle_idle_fetches(broker: NatsBroker) -> None:
    """FastStream 0.7.8's pull loop ends on any timeout but nats-py's own ``TimeoutError``,
    and nats-py 2.16's ``fetch`` also raises a plain ``asyncio.TimeoutError`` when a pull
    finds nothing: the loop would end and be restarted with an error logged, over and over
    on an idle region. Every pull subscription the connected ``broker`` creates gets a
    ``fetch`` that presents each timeout of an empty pull as the one FastStream expects, before
    its loop first runs.

    The one place that reaches into FastStream (its JetStream context, the one its own
    ``JsClient`` annotation names); a test fails if an upgrade moves it
    (``test_idle_pulls_far_longer_than_the_pull_timeout_never_end_the_pull_loop``)."""
    js = broker.config.connection_state.stream
    pull_subscribe = js.pull_subscribe

    async def pull_subscribe_settled(*args: Any, **kwargs: Any) -> Any:
        subscription = await pull_subscribe(*args, **kwargs)
        fetch = subscription.fetch

        async def fetch_or_time_out(*args: Any, **kwargs: Any) -> Any:
            try:
                return await fetch(*args, **kwargs)
            except nats.errors.TimeoutError:
                raise
            except TimeoutError as exc:
                raise nats.errors.TimeoutError from exc

        subscription.fetch = fetch_or_time_out
        return subscription

    js.pull_subscribe = pull_subscribe_settled
