"""Run a service in-process against real PostgreSQL and NATS, with an HTTP client and tokens."""

from __future__ import annotations

import asyncio
import importlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
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
    service: str, database_url: str, nats_url: str, *, deps: Any = None, **overrides: Any
) -> AsyncIterator[RunningService]:
    """Migrate a fresh database, start the service's lifespan, and hand back a client.

    ``deps`` replaces the service's dependencies (a held clock, recording senders); settings
    take ``overrides``. Expects the JetStream topology to be applied already (the
    ``jetstream`` fixture does).
    """
    main = importlib.import_module(f"{service}.main")
    await asyncio.to_thread(upgrade, main.MIGRATIONS, database_url)
    settings = main.Settings(
        **{"database_url": database_url, "nats_url": nats_url, "environment": "test"} | overrides
    )
    app = main.app(settings, deps)
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield RunningService(service, app, client, settings)
