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
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .observability import NATS_CONNECTED, OUTBOX_BACKLOG, OUTBOX_OLDEST_UNSENT_AGE
from .problems import problem_response

log = logging.getLogger(__name__)
# Within the probe's own timeout (deploy/k8s/base/service/deployment.yaml)
DATABASE_CHECK_SECONDS = 2.0


def operations_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz(request: Request) -> Response:
        runtime = request.app.state.runtime
        nats = nats_state(runtime)
        checks: dict[str, Any] = {"nats": nats}
        if runtime.consumer is not None:
            checks["consumer"] = runtime.consumer.pauses.describe()
        try:
            outbox = await asyncio.wait_for(outbox_state(runtime), DATABASE_CHECK_SECONDS)
        except Exception as exc:
            checks["database"] = f"unreachable: {type(exc).__name__}"
            return problem_response(503, "not_ready", "the database does not answer", checks=checks)
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
        nats_state(runtime)
        if runtime.definition.spec.produces:
            try:
                async with asyncio.timeout(DATABASE_CHECK_SECONDS):
                    await measure_outbox(runtime)
            except Exception as exc:  # the gauges keep their last values
                log.warning("outbox not measured: %r", exc)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def nats_state(runtime: Any) -> str:
    connected = runtime.nats is not None and runtime.nats.is_connected
    NATS_CONNECTED.set(1 if connected else 0)
    return "connected" if connected else "unreachable"


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


async def measure_outbox(runtime: Any) -> None:
    database = runtime.database
    async with database.read() as conn:
        OUTBOX_OLDEST_UNSENT_AGE.set(await database.outbox.oldest_unsent_age(conn))
        OUTBOX_BACKLOG.set(await database.outbox.backlog(conn))
