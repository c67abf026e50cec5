"""Run a service in-process against real PostgreSQL and NATS, with an HTTP client and tokens."""

from __future__ import annotations

import asyncio
import importlib
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from servicekit.auth import mint_token
from servicekit.migrations import upgrade
from servicekit.service import Runtime
from servicekit.settings import ServiceSettings


@dataclass
class RunningService:
    name: str
    app: FastAPI
    client: httpx.AsyncClient
    settings: ServiceSettings

    @property
    def runtime(self) -> Runtime[Any, Any]:
        return self.app.state.runtime

    def token(
        self,
        *roles: str,
        learner_id: uuid.UUID | None = None,
        region_code: str | None = None,
        subject: str | None = None,
    ) -> str:
        return mint_token(
            self.settings,
            roles=list(roles),
            learner_id=learner_id,
            region_code=region_code,
            subject=subject,
        )

    def auth(
        self, *roles: str, learner_id: uuid.UUID | None = None, region_code: str | None = None
    ) -> dict[str, str]:
        return {
            "Authorization": "Bearer "
            + self.token(*roles, learner_id=learner_id, region_code=region_code)
        }


@asynccontextmanager
async def running_service(
    service: str,
    database_url: str,
    nats_url: str,
    *,
    deps: Any = None,
    over_http: bool = False,
    http_port: int = 0,
    **overrides: Any,
) -> AsyncIterator[RunningService]:
    """Migrate a fresh database, start the service's lifespan, and hand back a client.

    ``deps`` replaces the service's dependencies (a held clock, recording senders); settings
    take ``overrides``. With ``over_http`` the app is served by uvicorn on a loopback port
    (``http_port``, or a free one) and the client calls it over real connections (what a
    client sees of an error: a problem, or a connection reset). Expects the JetStream
    topology to be applied already (the ``jetstream`` fixture does).
    """
    main = importlib.import_module(f"{service}.main")
    await asyncio.to_thread(upgrade, main.MIGRATIONS, database_url)
    settings = main.Settings(
        **{"database_url": database_url, "nats_url": nats_url, "environment": "test"} | overrides
    )
    app = main.app(settings, deps)
    if over_http:
        async with (
            served_by_uvicorn(app, http_port) as url,
            httpx.AsyncClient(base_url=url, timeout=30) as client,
        ):
            yield RunningService(service, app, client, settings)
        return
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield RunningService(service, app, client, settings)


@asynccontextmanager
async def served_by_uvicorn(app: FastAPI, port: int = 0) -> AsyncIterator[str]:
    """``app`` behind uvicorn on a loopback port, a free one unless ``port`` says which (its
    lifespan run by uvicorn); yields the base URL. The root logger's handlers, which the app
    replaces at start, are restored."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("uvicorn stopped before it started")
            await asyncio.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)
        root.handlers[:] = handlers
        root.setLevel(level)
