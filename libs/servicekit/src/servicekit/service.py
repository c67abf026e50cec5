"""Composition of a service process: settings -> engine -> broker -> app.

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
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any

import nats
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import MetaData
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .auth import TokenVerifier
from .consumer import Consumer, ConsumerOptions, Subscription
from .database import Database, make_engine
from .idempotency import IdempotencyStore
from .inbox import Inbox
from .observability import HTTP_REQUESTS, OUTBOX_BACKLOG, configure_logging, correlation_id_var
from .outbox import Outbox, OutboxRelay
from .problems import install_problem_handlers, problem_response
from .settings import ServiceSettings
from .topology import interests

log = logging.getLogger(__name__)

Worker = Callable[["Runtime"], Awaitable[None]]


@dataclass
class ServiceDefinition:
    name: str
    title: str
    metadata: MetaData
    routers: Sequence[APIRouter] = ()
    subscription: Subscription | None = None
    workers: Sequence[Worker] = ()
    produces: bool = True
    max_body_bytes: int = 1_000_000


@dataclass
class Runtime:
    definition: ServiceDefinition
    settings: ServiceSettings
    database: Database
    idempotency: IdempotencyStore
    nats: NatsClient | None = None
    js: JetStreamContext | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    worker_tasks: list[asyncio.Task[None]] = field(default_factory=list)
    stoppers: list[Callable[[], None]] = field(default_factory=list)


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def get_database(request: Request) -> Database:
    return get_runtime(request).database


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
DatabaseDep = Annotated[Database, Depends(get_database)]


async def connect_nats(settings: ServiceSettings, name: str) -> NatsClient:
    return await nats.connect(
        settings.nats_url,
        name=name,
        user=settings.nats_user,
        password=settings.nats_password,
        # a private inbox per user: nobody may subscribe to replies meant for others
        inbox_prefix=f"_INBOX_{settings.nats_user}" if settings.nats_user else "_INBOX",
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
    )


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
        except Exception:
            log.exception("%s stopped unexpectedly; restarting in %.1fs", name, delay)
        if time.monotonic() - started > 60:
            delay = 0.5
        with suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), delay)
        delay = min(delay * 2, 30)


def _start_background(runtime: Runtime) -> None:
    """Relay and consumer stop cleanly (finishing their batch); workers are cancelled, which
    rolls back whatever transaction they had open."""
    stopping = runtime.stopping
    definition, settings = runtime.definition, runtime.settings
    assert runtime.js is not None
    if definition.produces and settings.run_relay:
        relay = OutboxRelay(
            runtime.database.engine,
            runtime.js,
            runtime.database.outbox,
            batch_size=settings.relay_batch_size,
            retention=timedelta(hours=settings.outbox_retention_hours),
        )
        runtime.stoppers.append(relay.stop)
        runtime.tasks.append(asyncio.create_task(supervise("outbox relay", relay.run, stopping)))
    if definition.subscription is not None and settings.run_consumers:
        inbox_table = definition.metadata.tables["inbox"]
        consumer = Consumer(
            definition.name,
            runtime.js,
            runtime.database,
            Inbox(inbox_table, definition.name),
            definition.subscription,
            ConsumerOptions(
                batch_size=settings.consumer_batch_size,
                max_deliver=settings.consumer_max_deliver,
                retry_delays=settings.consumer_retry_delays,
                inbox_retention=timedelta(days=settings.inbox_retention_days),
            ),
            wanted=interests(definition.name),
        )
        runtime.extras["consumer"] = consumer
        runtime.stoppers.append(consumer.stop)
        runtime.tasks.append(asyncio.create_task(supervise("consumer", consumer.run, stopping)))
    for worker in definition.workers:
        runtime.worker_tasks.append(
            asyncio.create_task(
                supervise(worker.__name__, lambda w=worker: w(runtime), stopping)  # type: ignore[misc]
            )
        )


def tune_garbage_collector(young_threshold: int = 50_000) -> None:
    """Leave what startup loaded (modules, reference data) out of every later collection, and
    collect young objects less often: a consumer batch allocates thousands of short-lived
    objects, and with the defaults the collector took as long as parsing them."""
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(max(young_threshold, gc.get_threshold()[0]), middle, old)


def create_app(definition: ServiceDefinition, settings: ServiceSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(definition.name, settings.log_level)
        engine = make_engine(settings.database_url, pool_size=settings.database_pool_size)
        outbox = Outbox(definition.metadata.tables["outbox"])
        runtime = Runtime(
            definition,
            settings,
            Database(engine, outbox),
            IdempotencyStore(definition.metadata.tables["idempotency_keys"]),
        )
        runtime.nats = await connect_nats(settings, definition.name)
        runtime.js = runtime.nats.jetstream()
        app.state.runtime = runtime
        tune_garbage_collector()
        _start_background(runtime)
        log.info("%s started", definition.name)
        try:
            yield
        finally:
            runtime.stopping.set()
            for stop in runtime.stoppers:
                stop()
            for task in runtime.worker_tasks:
                task.cancel()
            background = runtime.tasks + runtime.worker_tasks
            _, pending = await asyncio.wait(background, timeout=20) if background else ((), ())
            for task in pending:
                task.cancel()
            with suppress(Exception):
                await runtime.nats.drain()
            await engine.dispose()
            log.info("%s stopped", definition.name)

    app = FastAPI(title=definition.title, version="1", lifespan=lifespan)
    app.state.token_verifier = TokenVerifier(settings)
    install_problem_handlers(app)
    app.include_router(operations_router())
    for router in definition.routers:
        app.include_router(router)
    app.add_middleware(RequestContext, max_body_bytes=definition.max_body_bytes)
    return app


def operations_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz(runtime: RuntimeDep) -> Response:
        checks: dict[str, str] = {}
        try:
            await asyncio.wait_for(runtime.database.ping(), 2)
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"unreachable: {type(exc).__name__}"
        connected = runtime.nats is not None and runtime.nats.is_connected
        checks["nats"] = "ok" if connected else "unreachable"
        if all(v == "ok" for v in checks.values()):
            return JSONResponse({"status": "ready", "checks": checks})
        return problem_response(503, "not_ready", "dependencies unreachable", checks=checks)

    @router.get("/metrics")
    async def metrics(runtime: RuntimeDep) -> Response:
        if runtime.definition.produces:
            with suppress(Exception):
                async with runtime.database.read() as conn:
                    OUTBOX_BACKLOG.set(await runtime.database.outbox.backlog(conn))
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


class RequestContext:
    """Correlation id, request metrics and a body size cap, as plain ASGI middleware."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        correlation_id = (headers.get(b"x-correlation-id") or b"").decode()[:100] or str(
            uuid.uuid4()
        )
        token = correlation_id_var.set(correlation_id)
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await problem_response(
                413, "payload_too_large", f"request body exceeds {self.max_body_bytes} bytes"
            )(scope, receive, send)
            correlation_id_var.reset(token)
            return
        status = 500
        started = time.perf_counter()

        async def send_with_context(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"x-correlation-id", correlation_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_context)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            HTTP_REQUESTS.labels(scope["method"], path, str(status)).observe(
                time.perf_counter() - started
            )
            correlation_id_var.reset(token)
