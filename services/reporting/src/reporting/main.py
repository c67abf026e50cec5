"""Composition root of the reporting service."""

from pathlib import Path

from fastapi import FastAPI

from servicekit.clock import system_clock
from servicekit.registry import service
from servicekit.service import ServiceDefinition, create_app

from .api.coaching import router as coaching_router
from .api.dashboard import router as dashboard_router
from .api.exports import router as exports_router
from .api.inactive_export import router as inactive_export_router
from .api.oidc import router as oidc_router
from .api.refusals import REFUSALS
from .api.reports import router as reports_router
from .api.sign_in import router as sign_in_router
from .dependencies import ReportingDependencies
from .events.inbound import PROJECTION
from .settings import ReportingSettings as Settings
from .store.tables import metadata

__all__ = ["MIGRATIONS", "Settings", "app", "definition", "dependencies"]

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def dependencies(settings: Settings) -> ReportingDependencies:
    return ReportingDependencies(clock=system_clock)


def definition(
    settings: Settings, deps: ReportingDependencies
) -> ServiceDefinition[Settings, ReportingDependencies]:
    return ServiceDefinition(
        spec=service("reporting"),
        settings=settings,
        deps=deps,
        metadata=metadata,
        routers=[
            reports_router,
            coaching_router,
            exports_router,
            inactive_export_router,
            dashboard_router,
            sign_in_router,
            oidc_router,
        ],
        refusals=REFUSALS,
        projection=PROJECTION,
    )


def app(settings: Settings | None = None, deps: ReportingDependencies | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_app(definition(settings, deps or dependencies(settings)))
