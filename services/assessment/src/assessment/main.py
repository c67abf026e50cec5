"""Composition root of the assessment service."""

from datetime import datetime
from pathlib import Path

from fastapi import FastAPI

from servicekit.service import ServiceDefinition, create_app

from .api.assessments import router as assessments_router
from .api.attempts import router as attempts_router
from .clock import Clock, system_clock
from .events.inbound import SUBSCRIPTION
from .expiry import expiry_worker
from .settings import AssessmentSettings as Settings
from .store.tables import metadata

__all__ = ["MIGRATIONS", "NAME", "Settings", "app", "definition"]

NAME = "assessment"
MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def definition(settings: Settings | None = None, clock: Clock = system_clock) -> ServiceDefinition:
    run_sweeper = settings.run_expiry_sweeper if settings is not None else True
    return ServiceDefinition(
        name=NAME,
        title="LMS Pamong Desa: assessment",
        metadata=metadata,
        routers=[assessments_router, attempts_router],
        subscription=SUBSCRIPTION,
        workers=[expiry_worker(clock)] if run_sweeper else [],
    )


def app(settings: Settings | None = None, clock: Clock = system_clock) -> FastAPI:
    """``app.state.clock`` is the one clock of the process: routes and the sweeper read it."""
    settings = settings or Settings()

    def now() -> datetime:
        return application.state.clock()

    application = create_app(definition(settings, now), settings)
    application.state.clock = clock
    return application
