"""Composition root of the notification service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from servicekit.service import ServiceDefinition, create_app

from .api.inbox import router as inbox_router
from .events.inbound import subscription
from .notifier import Notifier
from .settings import NotificationSettings as Settings
from .store.tables import metadata

__all__ = ["MIGRATIONS", "NAME", "Settings", "app", "definition"]

NAME = "notification"
MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def definition(settings: Settings | None = None) -> ServiceDefinition:
    notifier = Notifier(settings or Settings())
    return ServiceDefinition(
        name=NAME,
        title="LMS Pamong Desa: notification",
        metadata=metadata,
        routers=[inbox_router],
        subscription=subscription(notifier),
        workers=[],
        produces=False,
    )


def app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_app(definition(settings), settings)
