"""Composition of a service process: settings and dependencies -> definition -> app.

Every service's ``main.py`` has the same shape: ``definition(settings, deps)`` says what the
service is (its registry entry, tables, routes, use cases and their refusals, its inbound
table or projection, its workers) and ``app(settings=None, deps=None)`` builds it, with
``deps`` (clock, senders, stores, caches) made by ``dependencies(settings)`` unless a test
passes its own.

Nothing happens at import time: ``create_app`` builds the FastAPI app and its lifespan starts
the database engine, the NATS connection, the outbox relay, the consumer and any background
workers, and stops them in reverse order (finishing the in-flight batch) on shutdown.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Generic, TypeVar

from fastapi import APIRouter, FastAPI, Request
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from sqlalchemy import MetaData

from lms_contracts import CloudEvent, EventData

from .auth import TokenVerifier
from .clock import Clock, system_clock
from .compression import install_compression
from .consumer import BatchHandler, Consumer, ConsumerOptions, Maintenance, Subscription
from .database import Database, Transaction, database_unavailable, make_engine
from .eventdocs import event_docs_router
from .i18n import LanguageContext
from .idempotency import IdempotencyStore
from .inbox import Inbox
from .middleware import BodyLimits, RequestContext
from .observability import Pseudonyms, configure_logging
from .openapi import docs_router, document_problems
from .operations import operations_router
from .outbox import Outbox, OutboxRelay
from .pagination import Cursors
from .problems import Refusals, install_problem_handlers
from .registry import ServiceSpec
from .runner import Outbound, Runner, UnitOfWork, UseCase, no_events
from .settings import ServiceSettings
from .topology import interests
from .tracing import HTTP_TELEMETRY, configure_tracing

log = logging.getLogger(__name__)
# How long a starting process waits for NATS before it serves without it.
NATS_START_WAIT_SECONDS = 5.0

S = TypeVar("S", bound=ServiceSettings)
D = TypeVar("D", bound="Dependencies")

Worker = Callable[["Runtime[Any, Any]"], Awaitable[None]]
# An inbound event -> the command(s) it asks of the service (none: nothing to do).
Translator = Callable[[CloudEvent[Any]], Any]


@dataclass
class Dependencies:
    """What a service's code needs besides its settings, built in ``main.py`` (services
    subclass it for their senders, stores and caches): one clock per process."""

    clock: Clock = system_clock

    def bind(self, database: Database) -> None:
        """Called once the process has opened its database, before it serves anything: a
        dependency that keeps its data there shares the service's connection pool."""


@dataclass(frozen=True)
class Projection:
    """A consumer that applies whole batches (reporting): ``rules`` is its table from event
    type to what applying it does, ``apply`` applies a batch of them."""

    rules: Mapping[type[EventData], Any]
    apply: BatchHandler
    maintenance: Maintenance | None = None
    # False when applying an event again changes nothing by itself (ADR 6)
    needs_inbox: bool = False


@dataclass(frozen=True)
class Together:
    """An inbound table entry for event types applied a batch at a time: ``batch`` turns the
    batch's events of the types that share this entry (in order, each once) into one command,
    whose use case returns the ids of the events it leaves to be applied one by one through
    ``each`` (those whose effects need an event of their own: its correlation and causation,
    say)."""

    batch: Callable[[Sequence[CloudEvent[Any]]], Any]
    each: Translator


class SubscriptionMismatch(RuntimeError):
    """A service's inbound table and its registered subscriptions differ: it refuses to
    start rather than skip, or be sent, events nobody wired."""


@dataclass
class ServiceDefinition(Generic[S, D]):
    spec: ServiceSpec
    settings: S
    deps: D
    metadata: MetaData
    routers: Sequence[APIRouter] = ()
    # use cases: command type -> use case, run by the runner on a unit of work
    handlers: Mapping[type[Any], UseCase[Any]] = field(default_factory=dict)
    unit_of_work: Callable[[Transaction], UnitOfWork] = UnitOfWork
    outbound: Outbound = no_events
    refusals: Refusals | None = None
    # inbound events: event type -> the command(s) it becomes (or, for a type applied a batch
    # at a time, a Together); or a batch projection
    inbound: Mapping[type[EventData], Translator | Together] = field(default_factory=dict)
    projection: Projection | None = None
    workers: Sequence[Worker] = ()
    # gauges set at each scrape of /metrics, within its bound (servicekit.operations)
    measurements: Sequence[Callable[[Runtime[Any, Any]], Awaitable[None]]] = ()
    # the cap on a request body, and larger caps of routes taking uploads (by path template)
    max_body_bytes: int = 1_000_000
    upload_limits: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        handled = set(self.projection.rules) if self.projection else set(self.inbound)
        registered = set(self.spec.consumes)
        if handled != registered:
            missing = sorted(e.event_type for e in registered - handled)
            extra = sorted(e.event_type for e in handled - registered)
            raise SubscriptionMismatch(
                f"{self.spec.name}: inbound table differs from the registry "
                f"(registered but not handled: {missing}; handled but not registered: {extra})"
            )

    @property
    def name(self) -> str:
        return self.spec.name

    def subscription(self, runner: Runner[Any]) -> Subscription | None:
        """The consumer's view of the inbound table: each event's commands, run by the
        runner in the batch's transaction."""
        if self.projection is not None:
            return Subscription(
                batch_handler=self.projection.apply,
                needs_inbox=self.projection.needs_inbox,
                maintenance=self.projection.maintenance,
            )
        if not self.inbound:
            return None

        def handler(translate: Translator) -> Callable[[Transaction, CloudEvent[Any]], Any]:
            async def handle(tx: Transaction, event: CloudEvent[Any]) -> None:
                commands = translate(event)
                if commands is None:
                    return
                if not isinstance(commands, list | tuple):
                    commands = (commands,)
                if commands:
                    await runner.apply(tx, *commands)

            return handle

        one_by_one = {
            t: handler(f.each if isinstance(f, Together) else f) for t, f in self.inbound.items()
        }
        together = {t: f for t, f in self.inbound.items() if isinstance(f, Together)}
        if not together:
            return Subscription(handlers=one_by_one)

        return Subscription(handlers=one_by_one, batch_handler=applied_together(together, runner))


def applied_together(
    together: Mapping[type[EventData], Together], runner: Runner[Any]
) -> BatchHandler:
    """The consumer's batch step for the inbound table's Together entries: one command for
    each entry's events of the batch (the types sharing an entry share the command), in the
    batch's order; returns the events it applied in full."""

    async def apply(tx: Transaction, events: Sequence[CloudEvent[Any]]) -> set[uuid.UUID]:
        groups: dict[Together, list[CloudEvent[Any]]] = {}
        for event in events:
            entry = together.get(type(event.data))
            if entry is not None:
                groups.setdefault(entry, []).append(event)
        applied: set[uuid.UUID] = set()
        for entry, group in groups.items():
            left = await runner.apply(tx, entry.batch(group))
            applied.update(e.id for e in group if e.id not in left)
        return applied

    return apply


@dataclass
class Runtime(Generic[S, D]):
    definition: ServiceDefinition[S, D]
    database: Database
    runner: Runner[Any]
    nats: NatsClient | None = None
    js: JetStreamContext | None = None
    consumer: Consumer | None = None
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    worker_tasks: list[asyncio.Task[None]] = field(default_factory=list)
    stoppers: list[Callable[[], None]] = field(default_factory=list)

    @property
    def settings(self) -> S:
        return self.definition.settings

    @property
    def deps(self) -> D:
        return self.definition.deps

    @property
    def clock(self) -> Clock:
        return self.definition.deps.clock


# Dependencies are coroutines: FastAPI runs a plain function dependency in a worker thread,
# a hand-off per request that cost the busiest route more than its own code.
async def get_runtime(request: Request) -> Runtime[Any, Any]:
    """For a service's own typed alias: ``Annotated[Runtime[MySettings, MyDeps],
    Depends(get_runtime)]``."""
    return request.app.state.runtime


async def get_runner(request: Request) -> Runner[Any]:
    return (await get_runtime(request)).runner


async def connect_nats(
    settings: ServiceSettings, name: str, *, reconnect_attempts: int = -1
) -> NatsClient:
    client = NatsClient()

    async def disconnected() -> None:
        # a close of our own (shutdown, a command that is done) is not a lost connection
        if not (client.is_closed or client.is_draining):
            log.warning("NATS connection lost; reconnecting")

    await client.connect(
        settings.nats_servers,
        name=name,
        user=settings.nats_user,
        password=settings.nats_password,
        # a private inbox per user: nobody may subscribe to replies meant for others
        inbox_prefix=f"_INBOX_{settings.nats_user}" if settings.nats_user else "_INBOX",
        max_reconnect_attempts=reconnect_attempts,
        reconnect_time_wait=0.5,  # type: ignore[arg-type]  # nats-py sleeps a float; its hint says int
        # one line per failed attempt while NATS is away, not a traceback every half second
        error_cb=_nats_error,
        disconnected_cb=disconnected,
        reconnected_cb=_nats_reconnected,
    )
    return client


async def _nats_error(exc: Exception) -> None:
    log.warning("nats: %r", exc)


async def _nats_reconnected() -> None:
    log.warning("NATS connection back")


async def supervise(name: str, run: Callable[[], Awaitable[None]], stopping: asyncio.Event) -> None:
    """Keep a background loop alive: restart it with backoff if it fails."""
    delay = 0.5
    while not stopping.is_set():
        started = time.monotonic()
        try:
            await run()
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if database_unavailable(exc):
                # an outage, not a bug: one line per retry, the readiness probe says the rest
                # (the driver's error by name: its text may repeat a statement's parameters)
                cause = type(getattr(exc, "orig", None) or exc).__name__
                log.warning("%s waits for the database (%s); retrying in %.1fs", name, cause, delay)
            else:
                log.exception("%s stopped unexpectedly; restarting in %.1fs", name, delay)
        if time.monotonic() - started > 60:
            delay = 0.5
        with suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), delay)
        delay = min(delay * 2, 30)


def _start_background(runtime: Runtime[Any, Any]) -> None:
    """Relay and consumer stop cleanly (finishing their batch); workers are cancelled, which
    rolls back whatever transaction they had open."""
    stopping = runtime.stopping
    definition, settings = runtime.definition, runtime.settings
    assert runtime.js is not None
    if definition.spec.produces and settings.run_relay:
        relay = OutboxRelay(
            runtime.database.engine,
            runtime.js,
            runtime.database.outbox,
            batch_size=settings.relay_batch_size,
            retention=timedelta(hours=settings.outbox_retention_hours),
        )
        runtime.stoppers.append(relay.stop)
        runtime.tasks.append(asyncio.create_task(supervise("outbox relay", relay.run, stopping)))
    subscription = definition.subscription(runtime.runner)
    if subscription is not None and settings.run_consumers:
        inbox_table = definition.metadata.tables["inbox"]
        consumer = Consumer(
            definition.name,
            runtime.js,
            runtime.database,
            Inbox(inbox_table, definition.name),
            subscription,
            ConsumerOptions(
                batch_size=settings.consumer_batch_size,
                max_deliver=settings.consumer_max_deliver,
                retry_delays=settings.consumer_retry_delays,
                inbox_retention=timedelta(days=settings.inbox_retention_days),
            ),
            wanted=interests(definition.name),
        )
        runtime.consumer = consumer
        runtime.stoppers.append(consumer.stop)
        runtime.tasks.append(asyncio.create_task(supervise("consumer", consumer.run, stopping)))
    for worker in definition.workers:
        runtime.worker_tasks.append(
            asyncio.create_task(
                supervise(worker.__name__, lambda w=worker: w(runtime), stopping)  # type: ignore[misc]
            )
        )


async def _join_nats(runtime: Runtime[Any, Any]) -> None:
    """Connect to NATS (the client retries until it answers), then start the relay, the
    consumer and the workers. The app serves meanwhile: without NATS its endpoints still work
    and the outbox keeps the events (ADR 11)."""
    try:
        runtime.nats = await connect_nats(runtime.settings, runtime.definition.name)
        runtime.js = runtime.nats.jetstream()
        _start_background(runtime)
    except Exception:
        log.exception("could not join NATS")
        raise


def tune_garbage_collector(young_threshold: int = 50_000) -> None:
    """Leave what startup loaded (modules, reference data) out of every later collection, and
    collect young objects less often: a consumer batch allocates thousands of short-lived
    objects, and with the defaults the collector took as long as parsing them."""
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(max(young_threshold, gc.get_threshold()[0]), middle, old)


def create_app(definition: ServiceDefinition[S, D]) -> FastAPI:
    settings = definition.settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(definition.name, settings.log_level)
        configure_tracing(definition.name)
        engine = make_engine(
            settings.database_url,
            pool_size=settings.database_pool_size,
            connect_timeout=settings.database_connect_timeout_seconds,
            statement_timeout=settings.database_statement_timeout_seconds,
        )
        database = Database(engine, Outbox(definition.metadata.tables["outbox"]))
        definition.deps.bind(database)
        runner: Runner[Any] = Runner(
            database,
            IdempotencyStore(definition.metadata.tables["idempotency_keys"]),
            definition.unit_of_work,
            definition.handlers,
            definition.outbound,
        )
        runtime: Runtime[S, D] = Runtime(definition, database, runner)
        app.state.runtime = runtime
        tune_garbage_collector()
        joining = asyncio.create_task(_join_nats(runtime))
        try:
            await asyncio.wait_for(asyncio.shield(joining), NATS_START_WAIT_SECONDS)
        except TimeoutError:
            log.warning("NATS does not answer yet: serving, and connecting in the background")
        log.info("%s started", definition.name)
        try:
            yield
        finally:
            joining.cancel()
            runtime.stopping.set()
            for stop in runtime.stoppers:
                stop()
            for task in runtime.worker_tasks:
                task.cancel()
            background = runtime.tasks + runtime.worker_tasks
            _, pending = await asyncio.wait(background, timeout=20) if background else ((), ())
            for task in pending:
                task.cancel()
            if runtime.nats is not None:
                with suppress(Exception):
                    await runtime.nats.drain()
            await engine.dispose()
            log.info("%s stopped", definition.name)

    app = FastAPI(
        title=definition.spec.title,
        version="1",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        telemetry=HTTP_TELEMETRY,
    )
    app.state.token_verifier = TokenVerifier(settings)
    app.state.cursors = Cursors(settings.cursor_signing_key)
    install_problem_handlers(app, definition.refusals)
    app.include_router(operations_router())
    app.include_router(docs_router(definition.spec.title))
    app.include_router(event_docs_router())
    for router in definition.routers:
        app.include_router(router)
    refused = (
        {r.status for r in definition.refusals.table.values()} if definition.refusals else set()
    )
    if definition.refusals is not None:
        refused.add(definition.refusals.default.status)
    document_problems(app, refused)
    app.add_middleware(
        RequestContext,
        body_limits=BodyLimits(definition.max_body_bytes, definition.upload_limits),
        pseudonyms=Pseudonyms(settings.cursor_signing_key) if settings.access_log else None,
    )
    install_compression(app, settings.compress_min_bytes)
    app.add_middleware(LanguageContext, default=settings.default_language)
    return app
