"""Composition root of the notification service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from servicekit.service import ServiceDefinition, Worker, create_app

from .api.admin import router as admin_router
from .api.inbox import router as inbox_router
from .api.preferences import router as preferences_router
from .delivery import delivery_worker
from .events.inbound import subscription
from .notifier import Notifier
from .scheduling import scheduler_worker
from .settings import NotificationSettings as Settings
from .store.tables import metadata

__all__ = ["MIGRATIONS", "NAME", "Settings", "app", "definition"]

NAME = "notification"
MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def definition(
    settings: Settings | None = None, notifier: Notifier | None = None
) -> ServiceDefinition:
    notifier = notifier or Notifier(settings or Settings())
    workers: list[Worker] = []
    if notifier.settings.run_delivery_worker:
        workers.append(delivery_worker(notifier))
    if notifier.settings.run_scheduler:
        workers.append(scheduler_worker(notifier))
    return ServiceDefinition(
        name=NAME,
        title="LMS Pamong Desa: notification",
        metadata=metadata,
        routers=[inbox_router, preferences_router, admin_router],
        subscription=subscription(notifier),
        workers=workers,
        produces=False,
    )


def app(settings: Settings | None = None) -> FastAPI:
    notifier = Notifier(settings or Settings())
    application = create_app(definition(notifier=notifier), notifier.settings)
    application.state.notifier = notifier
    return application
