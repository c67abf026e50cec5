"""Composition root of the enrollment service."""

from pathlib import Path

from fastapi import FastAPI

from servicekit.service import ServiceDefinition, create_app

from .api.bulk import router as bulk_router
from .api.routes import router
from .events.inbound import SUBSCRIPTION
from .jobs import bulk_worker
from .settings import EnrollmentSettings as Settings
from .store.tables import metadata

__all__ = ["MIGRATIONS", "NAME", "Settings", "app", "definition"]

NAME = "enrollment"
MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def definition() -> ServiceDefinition:
    return ServiceDefinition(
        name=NAME,
        title="LMS Pamong Desa: enrollment",
        metadata=metadata,
        routers=[router, bulk_router],
        subscription=SUBSCRIPTION,
        workers=[bulk_worker],
    )


def app(settings: Settings | None = None) -> FastAPI:
    return create_app(definition(), settings or Settings())
