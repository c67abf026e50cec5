"""Composition root of the webhook bridge."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from servicekit.clock import system_clock
from servicekit.registry import service
from servicekit.service import ServiceDefinition, Worker, create_app

from . import usecases
from .api.deliveries import router as deliveries_router
from .api.endpoints import router as endpoints_router
from .api.refusals import REFUSALS
from .delivery import delivery_worker
from .dependencies import WebhooksDependencies, resolve
from .events.inbound import INBOUND
from .secretbox import SecretBox
from .settings import WebhooksSettings as Settings
from .store.tables import metadata
from .store.unit_of_work import SqlUnitOfWork
from .transport import WebhookSender

__all__ = ["MIGRATIONS", "NAME", "Settings", "app", "definition", "dependencies"]

NAME = "webhooks"
MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def dependencies(settings: Settings) -> WebhooksDependencies:
    return WebhooksDependencies(
        clock=system_clock,
        secrets=SecretBox(settings.secret_encryption_keys),
        sender=WebhookSender(settings),
        resolver=resolve,
    )


def definition(
    settings: Settings, deps: WebhooksDependencies
) -> ServiceDefinition[Settings, WebhooksDependencies]:
    workers: list[Worker] = [delivery_worker] if settings.run_delivery_worker else []
    return ServiceDefinition(
        spec=service(NAME),
        settings=settings,
        deps=deps,
        metadata=metadata,
        routers=[endpoints_router, deliveries_router],
        handlers=usecases.handlers(settings, deps),
        unit_of_work=SqlUnitOfWork,
        refusals=REFUSALS,
        inbound=INBOUND,
        workers=workers,
    )


def app(settings: Settings | None = None, deps: WebhooksDependencies | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_app(definition(settings, deps or dependencies(settings)))
