"""HTTP edge: learners starting and submitting attempts; results for them and their coaches."""

from __future__ import annotations

import json
import secrets
import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from servicekit.auth import CurrentPrincipal, Principal
from servicekit.pagination import CursorParam, Page, PageCursors
from servicekit.problems import Problem

from ..domain import commands
from ..domain.errors import UnknownAttempt
from ..domain.model import Answer, Attempt, AttemptStatus
from ..store import queries
from . import views
from .dependencies import AUTHORS, CurrentSettings, ServiceRuntime, UseCases, learner_of
from .schemas import AttemptOut, PaperOut, ResultOut, SubmissionIn

router = APIRouter(prefix="/v1", tags=["attempts"])


def created_or_resumed(started: tuple[Attempt, bool]) -> int:
    return 201 if started[1] else 200


@router.post(
    "/assessments/{assessment_id}/attempts",
    status_code=201,
    response_model=AttemptOut,
    responses={200: {"description": "the attempt already in progress, resumed"}},
)
async def start_attempt(
    assessment_id: uuid.UUID, principal: CurrentPrincipal, runner: UseCases
) -> JSONResponse:
    command = commands.StartAttempt(assessment_id, learner_of(principal), secrets.randbits(62))
    return await runner.respond(command, views.paper_view, status=created_or_resumed)


@router.post(
    "/assessments/{assessment_id}/papers",
    status_code=201,
    response_model=PaperOut,
    responses={200: {"description": "the paper already issued and not yet submitted"}},
)
async def take_paper(
    assessment_id: uuid.UUID, principal: CurrentPrincipal, runner: UseCases
) -> JSONResponse:
    """An attempt to answer offline (untimed assessments the author let go offline): the
    questions without the key, and the rules. Asking again, before it is submitted, gives the
    same paper; 409 ``online_only`` otherwise."""
    command = commands.StartAttempt(
        assessment_id, learner_of(principal), secrets.randbits(62), offline=True
    )
    return await runner.respond(command, views.offline_paper_view, status=created_or_resumed)


def answers_of(body: SubmissionIn) -> tuple[Answer, ...]:
    return tuple(
        Answer(
            question_id=a.question_id,
            option_ids=tuple(a.option_ids) if a.option_ids is not None else None,
            value=a.value,
            text=a.text,
        )
        for a in body.answers
    )


@router.post("/attempts/{attempt_id}/submit", response_model=ResultOut)
async def submit_attempt(
    attempt_id: uuid.UUID,
    body: SubmissionIn,
    principal: CurrentPrincipal,
    runner: UseCases,
    settings: CurrentSettings,
) -> JSONResponse:
    """Graded once; a repeat returns the first result. Too late: 409 ``attempt_expired``. A
    paper answered offline is sent here when the device is back online, with ``answered_at``;
    one of a course version the learner has left: 409 ``paper_outdated``."""
    command = commands.SubmitAttempt(
        attempt_id,
        learner_of(principal),
        answers_of(body),
        settings.submit_grace,
        answered_at=body.answered_at,
    )
    response = await runner.respond(command, views.result_view)
    result = json.loads(response.body)
    if result["status"] == AttemptStatus.EXPIRED:
        # committed as zero already: a repeat gets the same answer
        raise Problem(
            409,
            "attempt_expired",
            "the time limit of this attempt has passed; it counts as zero",
            result=result,
        )
    return response


def may_see_attempt(principal: Principal, learner_id: uuid.UUID, village_code: str) -> bool:
    return principal.has(*AUTHORS) or principal.may_see_learner(learner_id, village_code)


@router.get("/attempts/{attempt_id}", response_model=AttemptOut)
async def get_attempt(
    attempt_id: uuid.UUID, principal: CurrentPrincipal, runtime: ServiceRuntime
) -> AttemptOut:
    async with runtime.runner.read() as conn:
        attempt = await queries.attempt(conn, attempt_id)
        if attempt is None or not may_see_attempt(
            principal, attempt.learner_id, attempt.village_code
        ):
            raise UnknownAttempt(str(attempt_id))
        assessment = await queries.assessment(
            conn, attempt.assessment_id, runtime.deps.assessment_cache, attempt.assessment_version
        )
    assert assessment is not None
    status = views.shown_status(attempt, runtime.clock(), runtime.settings.submit_grace)
    return views.attempt_out(attempt, assessment, status)


@router.get("/attempts", response_model=Page[ResultOut])
async def list_attempts(
    principal: CurrentPrincipal,
    runtime: ServiceRuntime,
    cursors: PageCursors,
    assessment_id: uuid.UUID | None = None,
    learner_id: uuid.UUID | None = None,
    cursor: CursorParam = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[ResultOut]:
    """Learners see their own attempts, supervisors those in their region, authors all."""
    region_code, own_learner_id = None, None
    if not principal.has(*AUTHORS):
        if principal.region_in_view is not None:
            region_code = principal.region_in_view
        else:
            own_learner_id = learner_of(principal)
    after = cursors.after_id("attempts", cursor)
    async with runtime.runner.read() as conn:
        rows = await queries.attempt_page(
            conn,
            region_code=region_code,
            own_learner_id=own_learner_id,
            assessment_id=assessment_id,
            learner_id=learner_id,
            after=after,
            limit=limit,
        )
    now, grace = runtime.clock(), runtime.settings.submit_grace
    items = [views.listed_result_out(row, now, grace) for row in rows[:limit]]
    next_cursor = (
        cursors.encode("attempts", id=str(rows[limit - 1].attempt_id))
        if len(rows) > limit
        else None
    )
    return Page(items=items, next_cursor=next_cursor)
