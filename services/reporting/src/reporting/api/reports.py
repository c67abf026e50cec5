"""Region, course and learner reports (learners to coach: ``coaching.py``)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import Field

from servicekit.auth import CurrentPrincipal, Principal, Role
from servicekit.fields import LINE, RegionCodeShape
from servicekit.i18n import position_name
from servicekit.settings import ServiceSettings

from ..domain.errors import LearnerNotFound, UnknownCourse, UnknownRegion
from ..store import queries
from .dependencies import ReportingRuntime, ServiceRuntime

router = APIRouter(prefix="/v1/reports", tags=["reports"])
RegionCode = Annotated[RegionCodeShape, Path(description="74, 74.01, 74.01.01 or 74.01.01.2006")]
PositionFilter = Annotated[Annotated[str, Field(max_length=40), LINE] | None, Query()]
CohortFilter = Annotated[Annotated[str, Field(max_length=64), LINE] | None, Query()]


def require_scope(principal: Principal, code: str) -> None:
    """Admins see the nation; supervisors their region and everything under it."""
    principal.require_region(code)


def active_days(runtime: ReportingRuntime, days: int | None) -> int:
    return days or runtime.settings.active_days


async def report(
    runtime: ReportingRuntime, code: str, filters: queries.Filters, days: int
) -> dict[str, Any]:
    async with runtime.runner.read() as conn:
        found = await queries.region_report(conn, code, filters, days, runtime.clock())
    if found is None:
        raise UnknownRegion(code)
    return found


@router.get("/national")
async def national_report(
    principal: CurrentPrincipal,
    runtime: ServiceRuntime,
    course_id: uuid.UUID | None = None,
    cohort: CohortFilter = None,
    position: PositionFilter = None,
    days: Annotated[int | None, Query(ge=1, le=365)] = None,
) -> dict[str, Any]:
    principal.require(Role.ADMIN)
    return await report(
        runtime, "", queries.Filters(course_id, cohort, position), active_days(runtime, days)
    )


@router.get("/regions/{code}")
async def region_report(
    code: RegionCode,
    principal: CurrentPrincipal,
    runtime: ServiceRuntime,
    course_id: uuid.UUID | None = None,
    cohort: CohortFilter = None,
    position: PositionFilter = None,
    days: Annotated[int | None, Query(ge=1, le=365)] = None,
) -> dict[str, Any]:
    """The region's totals and each child region's (children without learners included)."""
    require_scope(principal, code)
    return await report(
        runtime, code, queries.Filters(course_id, cohort, position), active_days(runtime, days)
    )


@router.get("/learners/{learner_id}")
async def learner_report(
    learner_id: uuid.UUID, principal: CurrentPrincipal, runtime: ServiceRuntime
) -> dict[str, Any]:
    async with runtime.runner.read() as conn:
        learner = await queries.learner(conn, learner_id)
        if learner is None or not principal.may_see_learner(
            learner_id, learner.village_code or "-"
        ):
            raise LearnerNotFound()
        rows = await queries.enrollments_of(conn, learner_id)
    settings = runtime.settings
    return {
        "learner_id": str(learner_id),
        "full_name": learner.full_name,
        "village_code": learner.village_code,
        "position": learner.position,
        "position_name": position_name(learner.position) if learner.position else None,
        "last_activity_at": learner.last_activity_at,
        "enrollments": [
            {
                "enrollment_id": str(r.enrollment_id) if r.enrollment_id else None,
                "course_id": str(r.course_id),
                "course_title": r.course_title,
                "course_version": r.course_version,
                "cohort": r.cohort or None,
                "status": enrollment_status(r),
                "lessons_done": r.lessons_in_version,
                "lessons": r.version_lessons,
                "progress": _share(r.lessons_in_version, r.version_lessons),
                "pre_test_score": r.pre_test_score,
                "post_test_score": r.post_test_score,
                "passed": r.passed,
                "certified": r.certified,
                "certificate": _certificate(r.certificate_code, settings),
                "last_activity_at": r.last_activity_at,
            }
            for r in rows
        ],
    }


def _share(done: int, total: int | None) -> float | None:
    """Percent of the version's lessons done, one decimal."""
    return round(100 * done / total, 1) if total else None


def _certificate(code: str | None, settings: ServiceSettings) -> dict[str, str] | None:
    if code is None:
        return None
    return {
        "verification_code": code,
        "verify_url": settings.certificate_url(code),
        "pdf_url": settings.certificate_url(code, pdf=True),
    }


def enrollment_status(row: Any) -> str:
    if row.withdrawn:
        return "withdrawn"
    if row.completed:
        return "completed"
    if row.lessons_done or row.post_test_score is not None:
        return "in_progress"
    return "enrolled"


@router.get("/courses/{course_id}")
async def course_report(
    course_id: uuid.UUID,
    principal: CurrentPrincipal,
    runtime: ServiceRuntime,
    days: Annotated[int | None, Query(ge=1, le=365)] = None,
) -> dict[str, Any]:
    """A course's national totals and each province's, with its published versions; its
    registered learners are those enrolled in it (withdrawn or not)."""
    principal.require(Role.ADMIN, Role.INSTRUCTOR)
    async with runtime.runner.read() as conn:
        versions = await queries.course_versions(conn, course_id)
        found = await queries.region_report(
            conn,
            "",
            queries.Filters(course_id=course_id),
            active_days(runtime, days),
            runtime.clock(),
            per_course=True,
        )
    if not versions or found is None:
        raise UnknownCourse()
    return {
        "course_id": str(course_id),
        "title": versions[-1].title,
        "code": versions[-1].code,
        "versions": [
            {"version": v.version, "lessons": v.lessons, "required_lessons": v.required_lessons}
            for v in versions
        ],
        "totals": found["totals"],
        "provinces": found["children"],
    }
