"""Composition root of the content service."""

from pathlib import Path

from fastapi import FastAPI

from servicekit.service import ServiceDefinition, create_app

from .api.attachments import router as attachments_router
from .api.courses import router as courses_router
from .api.package import router as package_router
from .api.progress import router as progress_router
from .events.inbound import SUBSCRIPTION
from .settings import ContentSettings as Settings
from .store.tables import metadata

__all__ = ["MIGRATIONS", "NAME", "Settings", "app", "definition"]

NAME = "content"
MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def definition(settings: Settings | None = None) -> ServiceDefinition:
    settings = settings or Settings()
    return ServiceDefinition(
        name=NAME,
        title="LMS Pamong Desa: content",
        metadata=metadata,
        routers=[courses_router, attachments_router, package_router, progress_router],
        subscription=SUBSCRIPTION,
        # uploads are checked against their own cap as they stream in
        max_body_bytes=max(settings.attachment_max_bytes, settings.json_max_bytes),
    )


def app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_app(definition(settings), settings)
