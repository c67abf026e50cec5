"""HTTP edge: instructors give a learner more attempts, or more time on a running attempt,
with a reason (recorded, and published as ``extension-granted``)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from servicekit.auth import CurrentPrincipal

from ..domain import commands
from ..domain.model import Grant
from ..store import queries
from ..store.unit_of_work import SqlUnitOfWork
from .dependencies import AUTHORS, UseCases
from .schemas import AttemptsGrantIn, GrantOut, TimeGrantIn

router = APIRouter(prefix="/v1", tags=["grants"])


async def granted(grant: Grant, uow: SqlUnitOfWork) -> dict[str, Any]:
    expires_at = None
    if grant.attempt_id is not None:
        attempt = await queries.attempt(uow.conn, grant.attempt_id)
        expires_at = attempt.expires_at if attempt else None
    fields = {k: v for k, v in grant.__dict__.items() if k in GrantOut.model_fields}
    return GrantOut(**fields, expires_at=expires_at).model_dump(mode="json")


@router.post("/assessments/{assessment_id}/grants", status_code=201, response_model=GrantOut)
async def grant_attempts(
    assessment_id: uuid.UUID, body: AttemptsGrantIn, principal: CurrentPrincipal, runner: UseCases
) -> JSONResponse:
    """More attempts for one enrolled learner: their limit is the assessment's plus all that
    was granted to them."""
    principal.require(*AUTHORS)
    command = commands.GrantAttempts(
        assessment_id, body.learner_id, body.extra_attempts, body.reason, principal.subject
    )
    return await runner.respond(command, granted, status=201)


@router.post("/attempts/{attempt_id}/extensions", status_code=201, response_model=GrantOut)
async def grant_time(
    attempt_id: uuid.UUID, body: TimeGrantIn, principal: CurrentPrincipal, runner: UseCases
) -> JSONResponse:
    """More time on an attempt still running; a finished one is refused (409)."""
    principal.require(*AUTHORS)
    command = commands.GrantTime(attempt_id, body.extra_seconds, body.reason, principal.subject)
    return await runner.respond(command, granted, status=201)
