"""Composition root of the content service."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from fastapi import FastAPI

from servicekit.registry import service
from servicekit.service import ServiceDefinition, create_app

from .api.attachments import router as attachments_router
from .api.courses import router as courses_router
from .api.package import router as package_router
from .api.progress import router as progress_router
from .api.refusals import REFUSALS
from .dependencies import ContentDependencies
from .events.inbound import INBOUND
from .events.outbound import to_contract
from .settings import ContentSettings as Settings
from .store.blobs import PostgresBlobStore
from .store.tables import metadata
from .store.unit_of_work import SqlUnitOfWork
from .usecases import HANDLERS

__all__ = ["MIGRATIONS", "NAME", "Settings", "app", "definition", "dependencies"]

NAME = "content"
MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def dependencies(settings: Settings) -> ContentDependencies:
    return ContentDependencies(blobs=PostgresBlobStore())


def definition(
    settings: Settings, deps: ContentDependencies
) -> ServiceDefinition[Settings, ContentDependencies]:
    return ServiceDefinition(
        spec=service(NAME),
        settings=settings,
        deps=deps,
        metadata=metadata,
        routers=[courses_router, attachments_router, package_router, progress_router],
        handlers=HANDLERS,
        unit_of_work=partial(SqlUnitOfWork, outbound=to_contract, clock=deps.clock),
        outbound=to_contract,
        refusals=REFUSALS,
        inbound=INBOUND,
        max_body_bytes=settings.json_max_bytes,
        upload_limits={"/v1/courses/{course_id}/attachments": settings.attachment_max_bytes},
    )


def app(settings: Settings | None = None, deps: ContentDependencies | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_app(definition(settings, deps or dependencies(settings)))
