"""Composition root of the reporting service."""

from pathlib import Path

from fastapi import FastAPI

from servicekit.service import ServiceDefinition, create_app

from .api.exports import router as exports_router
from .api.routes import router
from .events import SUBSCRIPTION
from .settings import ReportingSettings as Settings
from .store.tables import metadata

__all__ = ["MIGRATIONS", "NAME", "Settings", "app", "definition"]

NAME = "reporting"
MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def definition() -> ServiceDefinition:
    return ServiceDefinition(
        name=NAME,
        title="LMS Pamong Desa: reporting",
        metadata=metadata,
        routers=[router, exports_router],
        subscription=SUBSCRIPTION,
        produces=False,
    )


def app(settings: Settings | None = None) -> FastAPI:
    return create_app(definition(), settings or Settings())
