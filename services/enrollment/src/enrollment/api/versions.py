"""Course versions a learner follows: move one learner, or every unfinished learner of a
course (or cohort) as a background job."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from servicekit.auth import CurrentPrincipal, Role
from servicekit.ratelimit import RateLimit

from ..domain import commands
from .bulk import planned
from .dependencies import CurrentSettings, UseCases
from .enrollments import shown
from .schemas import EnrollmentOut, JobOut, MoveIn, VersionMoveIn

router = APIRouter(prefix="/v1", tags=["versions"])
move_limit = RateLimit("version move job", per_minute=6, burst=3)


@router.put("/courses/{course_id}/learners/{learner_id}/version", response_model=EnrollmentOut)
async def move_learner(
    course_id: uuid.UUID,
    learner_id: uuid.UUID,
    body: MoveIn,
    principal: CurrentPrincipal,
    runner: UseCases,
    settings: CurrentSettings,
) -> JSONResponse:
    """Move an enrolled learner who has not finished to another published version; every
    service learns it from ``course-version-changed``. Moving to their own version changes
    nothing."""
    principal.require(Role.ADMIN, Role.INSTRUCTOR)
    return await runner.respond(
        commands.MoveToVersion(learner_id, course_id, body.version), shown(settings)
    )


@router.post(
    "/courses/{course_id}/version-moves",
    status_code=202,
    response_model=JobOut,
    dependencies=[Depends(move_limit)],
)
async def move_course(
    course_id: uuid.UUID, body: VersionMoveIn, principal: CurrentPrincipal, runner: UseCases
) -> JSONResponse:
    """Move every learner of the course (or of one cohort) who has not finished to a
    published version, as a background job: ``GET /v1/jobs/{id}`` shows its progress."""
    principal.require(Role.ADMIN)
    command = commands.StartVersionMove(
        job_id=uuid.uuid4(),
        course_id=course_id,
        version=body.version,
        cohort=body.cohort,
        requested_by=principal.subject,
    )
    response = await runner.respond(command, planned, status=202)
    response.headers["Location"] = f"/v1/jobs/{command.job_id}"
    return response
