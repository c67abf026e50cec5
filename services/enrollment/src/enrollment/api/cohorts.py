"""The catalog of published courses this service has learnt, and their cohorts (angkatan)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from servicekit.auth import CurrentPrincipal, Role

from ..domain import commands
from ..store import queries
from .dependencies import UseCases
from .schemas import CohortIn, CohortOut, CourseOut
from .views import cohort_out, course_out

router = APIRouter(prefix="/v1", tags=["enrollment"])


@router.post("/cohorts", status_code=201, response_model=CohortOut)
async def create_cohort(body: CohortIn, principal: CurrentPrincipal, runner: UseCases) -> CohortOut:
    """An intake (angkatan) of a published course, with its enrollment window: national
    (admins, instructors) or regional, admitting only one region's learners (a supervisor's,
    always within their region)."""
    principal.require(Role.ADMIN, Role.INSTRUCTOR, Role.SUPERVISOR)
    region_code = body.region_code
    if not principal.has(Role.ADMIN, Role.INSTRUCTOR):
        region_code = region_code if region_code is not None else principal.region_code
        assert region_code is not None  # a supervisor's token always has a region
        principal.require_region(region_code)
    cohort = await runner.execute(
        commands.CreateCohort(
            course_id=body.course_id,
            name=body.name,
            enrollment_opens_at=body.enrollment_opens_at,
            enrollment_closes_at=body.enrollment_closes_at,
            region_code=region_code,
        )
    )
    return cohort_out(cohort)


@router.get("/cohorts", response_model=list[CohortOut])
async def list_cohorts(
    course_id: uuid.UUID, principal: CurrentPrincipal, runner: UseCases
) -> list[CohortOut]:
    async with runner.read() as conn:
        return [cohort_out(row) for row in await queries.cohorts_of(conn, course_id)]


@router.get("/catalog", response_model=list[CourseOut])
async def catalog(principal: CurrentPrincipal, runner: UseCases) -> list[CourseOut]:
    """Published courses this service has learnt from course-published events (latest versions)."""
    async with runner.read() as conn:
        rows = await queries.catalog(conn)
    return [course_out(row) for row in rows]
