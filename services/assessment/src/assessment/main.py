"""Composition root of the assessment service."""

from functools import partial
from pathlib import Path

from fastapi import FastAPI

from servicekit.clock import system_clock
from servicekit.registry import service
from servicekit.service import ServiceDefinition, create_app

from .api.assessments import router as assessments_router
from .api.attempts import router as attempts_router
from .api.grants import router as grants_router
from .api.refusals import REFUSALS
from .api.reviews import router as reviews_router
from .dependencies import AssessmentDependencies
from .events.inbound import INBOUND
from .events.outbound import to_contract
from .expiry import expiry_sweeper
from .settings import AssessmentSettings as Settings
from .store.cache import AssessmentCache
from .store.tables import metadata
from .store.unit_of_work import SqlUnitOfWork
from .usecases import HANDLERS

__all__ = ["MIGRATIONS", "NAME", "Settings", "app", "definition", "dependencies"]

NAME = "assessment"
MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def dependencies(settings: Settings) -> AssessmentDependencies:
    return AssessmentDependencies(clock=system_clock, assessment_cache=AssessmentCache())


def definition(
    settings: Settings, deps: AssessmentDependencies
) -> ServiceDefinition[Settings, AssessmentDependencies]:
    return ServiceDefinition(
        spec=service(NAME),
        settings=settings,
        deps=deps,
        metadata=metadata,
        routers=[assessments_router, attempts_router, grants_router, reviews_router],
        handlers=HANDLERS,
        unit_of_work=partial(SqlUnitOfWork, cache=deps.assessment_cache, clock=deps.clock),
        outbound=to_contract,
        refusals=REFUSALS,
        inbound=INBOUND,
        workers=[expiry_sweeper] if settings.run_expiry_sweeper else [],
    )


def app(settings: Settings | None = None, deps: AssessmentDependencies | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_app(definition(settings, deps or dependencies(settings)))
