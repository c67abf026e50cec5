"""The endpoints every service serves for its operators: liveness, readiness and metrics.

``/healthz`` (liveness) says the process answers and asks no other server: restarting a pod
because PostgreSQL or NATS is away brings neither back. ``/readyz`` (readiness) says the pod
can serve its endpoints, all of which need its database: it fails when the database does not
answer. NATS is reported, never required: while it is away a producer's outbox keeps taking
events (the relay publishes them when NATS returns) and a consumer resumes where it stopped,
so every endpoint still works. How far behind the relay is shows in the body and in
``/metrics`` (``lms_outbox_oldest_unsent_age_seconds``, ``lms_nats_connected``), for alerts
rather than for taking pods out of service (ADR 11). A consumer paused for its infrastructure
(ADR 12) is reported too, under ``checks.consumer`` with what it waits for and since when, and
in ``lms_consumer_paused``: it needs no pod taken out (its messages wait on the server), but
an operator needs to know.

"NATS connected" means the server answered a ping within ``NATS_PING_SECONDS``: a paused or
hung server keeps the connection open and says nothing, so only a round trip tells. The
consumer's durable is asked about (pending, ack pending, redelivered) with the same bound,
which also sets the lag gauges. ``/metrics`` runs the same checks at each scrape
(``lms_check_ok{check}``), so that alerts see what the probes see (ADR 27).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .observability import (
    CHECK_OK,
    CONSUMER_ACK_PENDING,
    CONSUMER_PENDING,
    CONSUMER_RUNNING,
    NATS_CONNECTED,
    OUTBOX_BACKLOG,
    OUTBOX_OLDEST_UNSENT_AGE,
)
from .problems import problem_response
from .topology import STREAM

log = logging.getLogger(__name__)
# Within the probe's own timeout (deploy/k8s/base/service/deployment.yaml)
DATABASE_CHECK_SECONDS = 2.0
# A ping to nats-server, and a question about the durable consumer, wait this long at most.
NATS_PING_SECONDS = 1.0


def operations_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz(request: Request) -> Response:
        runtime = request.app.state.runtime
        nats, consumer = await asyncio.gather(nats_state(runtime), consumer_state(runtime))
        checks: dict[str, Any] = {"nats": nats}
        if consumer is not None:
            checks["consumer"] = consumer
        try:
            outbox = await asyncio.wait_for(outbox_state(runtime), DATABASE_CHECK_SECONDS)
        except Exception as exc:
            CHECK_OK.labels("database").set(0)
            checks["database"] = f"unreachable: {type(exc).__name__}"
            return problem_response(503, "not_ready", "the database does not answer", checks=checks)
        CHECK_OK.labels("database").set(1)
        checks["database"] = "ok"
        body: dict[str, Any] = {"status": "ready", "checks": checks}
        if outbox is not None:
            body["outbox"] = outbox
        return JSONResponse(body)

    @router.get(
        "/metrics",
        responses={
            200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}}}
        },
    )
    async def metrics(request: Request) -> Response:
        runtime = request.app.state.runtime
        await asyncio.gather(
            nats_state(runtime),
            consumer_state(runtime),
            database_state(runtime),
            *(measured(m.__name__, m(runtime)) for m in runtime.definition.measurements),
        )
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


async def nats_state(runtime: Any) -> str:
    """``connected`` only if the server answers a ping within ``NATS_PING_SECONDS``: a server
    that stopped answering (paused, overloaded, cut off without a reset) leaves the client
    connected, with nothing but a ping to tell."""
    nc = runtime.nats
    if nc is None or not nc.is_connected:
        state = "unreachable"
    else:
        try:
            await nc.flush(timeout=NATS_PING_SECONDS)
            state = "connected"
        except Exception:
            state = "unresponsive"
    NATS_CONNECTED.set(1 if state == "connected" else 0)
    CHECK_OK.labels("nats").set(1 if state == "connected" else 0)
    return state


async def consumer_state(runtime: Any) -> dict[str, Any] | None:
    """The consumer's loop and pauses, and its durable consumer as the server counts it
    (pending, ack pending, redelivered), which also sets the lag gauges. None for a service
    that consumes nothing."""
    consumer = runtime.consumer
    name = runtime.definition.name
    if consumer is None:
        if not (runtime.definition.spec.consumes and runtime.settings.run_consumers):
            return None
        CONSUMER_RUNNING.labels(name).set(0)
        CHECK_OK.labels("consumer").set(0)
        return {"state": "not started (waiting for NATS)"}
    described = consumer.pauses.describe()
    if not consumer.running and described["state"] == "running":
        described = {"state": "stopped (restarting)"}
    try:
        info = await runtime.js.consumer_info(STREAM, name, timeout=NATS_PING_SECONDS)
    except Exception as exc:
        described["server"] = f"unreachable: {type(exc).__name__}"
    else:
        CONSUMER_PENDING.labels(name).set(info.num_pending or 0)
        CONSUMER_ACK_PENDING.labels(name).set(info.num_ack_pending or 0)
        described["server"] = {
            "pending": info.num_pending or 0,
            "ack_pending": info.num_ack_pending or 0,
            "redelivered": info.num_redelivered or 0,
        }
    healthy = described["state"] == "running" and isinstance(described.get("server"), dict)
    CONSUMER_RUNNING.labels(name).set(1 if healthy else 0)
    CHECK_OK.labels("consumer").set(1 if healthy else 0)
    return described


async def measured(name: str, measurement: Awaitable[None]) -> None:
    """Within the scrape's bound; on failure the gauges keep their last values."""
    try:
        async with asyncio.timeout(DATABASE_CHECK_SECONDS):
            await measurement
    except Exception as exc:
        log.warning("%s not measured: %r", name, exc)


async def outbox_state(runtime: Any) -> dict[str, float] | None:
    """Ask the database: for a producer, how old its oldest unsent event is (which also
    sets the gauge). Raises when the database does not answer."""
    database = runtime.database
    if not runtime.definition.spec.produces:
        await database.ping()
        return None
    async with database.read() as conn:
        age = await database.outbox.oldest_unsent_age(conn)
    OUTBOX_OLDEST_UNSENT_AGE.set(age)
    return {"oldest_unsent_age_seconds": round(age, 3)}


async def database_state(runtime: Any) -> None:
    """For a scrape: the readiness check of the database (``lms_check_ok{check="database"}``)
    and, for a producer, the outbox's age and backlog. On failure the outbox gauges keep their
    last values."""
    try:
        async with asyncio.timeout(DATABASE_CHECK_SECONDS):
            await outbox_state(runtime)
            if runtime.definition.spec.produces:
                async with runtime.database.read() as conn:
                    OUTBOX_BACKLOG.set(await runtime.database.outbox.backlog(conn))
    except Exception as exc:
        CHECK_OK.labels("database").set(0)
        log.warning("database not measured: %r", exc)
    else:
        CHECK_OK.labels("database").set(1)
