"""The endpoints every service serves for its operators: liveness, readiness and metrics."""

from __future__ import annotations

import asyncio
from contextlib import suppress

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .observability import OUTBOX_BACKLOG
from .problems import problem_response


def operations_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz(request: Request) -> Response:
        runtime = request.app.state.runtime
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
    async def metrics(request: Request) -> Response:
        runtime = request.app.state.runtime
        if runtime.definition.spec.produces:
            with suppress(Exception):
                async with runtime.database.read() as conn:
                    OUTBOX_BACKLOG.set(await runtime.database.outbox.backlog(conn))
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router
