"""Composition root of the notification service."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from fastapi import FastAPI

from servicekit.clock import system_clock
from servicekit.registry import service
from servicekit.service import ServiceDefinition, Worker, create_app

from . import usecases
from .api.admin import router as admin_router
from .api.broadcasts import router as broadcasts_router
from .api.inbox import router as inbox_router
from .api.preferences import router as preferences_router
from .api.refusals import REFUSALS
from .broadcasting import broadcast_worker
from .channels import senders_for
from .delivery import delivery_worker
from .dependencies import NotificationDependencies
from .events.inbound import INBOUND
from .rendering import TemplateRenderer
from .scheduling import scheduler_worker
from .settings import NotificationSettings as Settings
from .store.tables import metadata
from .store.unit_of_work import SqlUnitOfWork

__all__ = ["MIGRATIONS", "NAME", "Settings", "app", "definition", "dependencies"]

NAME = "notification"
MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def dependencies(settings: Settings) -> NotificationDependencies:
    return NotificationDependencies(
        clock=system_clock, renderer=TemplateRenderer(), senders=senders_for(settings)
    )


def definition(
    settings: Settings, deps: NotificationDependencies
) -> ServiceDefinition[Settings, NotificationDependencies]:
    workers: list[Worker] = []
    if settings.run_delivery_worker:
        workers.append(delivery_worker)
    if settings.run_scheduler:
        workers.append(scheduler_worker)
    if settings.run_broadcaster:
        workers.append(broadcast_worker)
    return ServiceDefinition(
        spec=service(NAME),
        settings=settings,
        deps=deps,
        metadata=metadata,
        routers=[inbox_router, preferences_router, admin_router, broadcasts_router],
        handlers=usecases.handlers(settings, deps),
        unit_of_work=partial(SqlUnitOfWork, defaults=settings.default_preferences),
        refusals=REFUSALS,
        inbound=INBOUND,
        workers=workers,
    )


def app(settings: Settings | None = None, deps: NotificationDependencies | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_app(definition(settings, deps or dependencies(settings)))
