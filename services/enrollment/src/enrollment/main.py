"""Composition root of the enrollment service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from servicekit.database import Transaction
from servicekit.registry import service
from servicekit.service import ServiceDefinition, create_app

from .api import bulk, certificates, cohorts, enrollments, jobs, learners, versions
from .api.refusals import REFUSALS
from .dependencies import EnrollmentDependencies
from .events.inbound import INBOUND
from .events.outbound import to_contract
from .jobs import job_worker, measure_jobs
from .settings import EnrollmentSettings as Settings
from .store.tables import metadata
from .store.unit_of_work import SqlUnitOfWork
from .usecases import HANDLERS

__all__ = ["MIGRATIONS", "Settings", "app", "definition", "dependencies"]

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def dependencies(settings: Settings) -> EnrollmentDependencies:
    return EnrollmentDependencies()


def definition(
    settings: Settings, deps: EnrollmentDependencies
) -> ServiceDefinition[Settings, EnrollmentDependencies]:
    def unit_of_work(tx: Transaction) -> SqlUnitOfWork:
        return SqlUnitOfWork(tx, deps.clock)

    return ServiceDefinition(
        spec=service("enrollment"),
        settings=settings,
        deps=deps,
        metadata=metadata,
        routers=[
            learners.router,
            enrollments.router,
            cohorts.router,
            certificates.router,
            bulk.router,
            jobs.router,
            versions.router,
        ],
        handlers=HANDLERS,
        unit_of_work=unit_of_work,
        outbound=to_contract,
        refusals=REFUSALS,
        inbound=INBOUND,
        workers=[job_worker],
        upload_limits={"/v1/learners/import": settings.import_max_bytes},
        measurements=[measure_jobs],
    )


def app(settings: Settings | None = None, deps: EnrollmentDependencies | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_app(definition(settings, deps or dependencies(settings)))
