"""HTTP edge: authoring assessments and reading them (with the key for authors only)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncConnection

from servicekit.auth import CurrentPrincipal, Role
from servicekit.pagination import CursorParam, Page, PageCursors
from servicekit.runner import Idempotency, IdempotencyKey

from ..domain import commands
from ..domain.errors import UnknownAssessment
from ..domain.model import Assessment, AssessmentKind
from ..store import queries
from . import views
from .dependencies import AUTHORS, ServiceRuntime, UseCases, learner_of
from .schemas import AssessmentIn, AssessmentOut, AssessmentSummary

router = APIRouter(prefix="/v1", tags=["assessments"])


def create_command(body: AssessmentIn, created_by: str) -> commands.CreateAssessment:
    return commands.CreateAssessment(
        course_id=body.course_id,
        kind=body.kind,
        title=body.title,
        pass_score=body.pass_score,
        max_attempts=body.max_attempts,
        time_limit_seconds=body.time_limit_seconds,
        questions_drawn=body.questions_drawn,
        shuffle_questions=body.shuffle_questions,
        shuffle_options=body.shuffle_options,
        review=body.review,
        allow_offline=body.allow_offline,
        questions=tuple(
            commands.NewQuestion(
                kind=q.kind,
                prompt=q.prompt,
                points=q.points,
                options=(
                    tuple(commands.NewOption(o.text, o.correct) for o in q.options)
                    if q.options is not None
                    else None
                ),
                answer=q.answer,
                accepted_answers=tuple(q.accepted_answers)
                if q.accepted_answers is not None
                else None,
                match=q.match,
            )
            for q in body.questions
        ),
        created_by=created_by,
    )


@router.post("/assessments", status_code=201, response_model=AssessmentOut)
async def create_assessment(
    body: AssessmentIn,
    principal: CurrentPrincipal,
    runner: UseCases,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    principal.require(*AUTHORS)
    return await runner.respond(
        create_command(body, principal.subject),
        views.keyed_view,
        status=201,
        idempotency=Idempotency(
            idempotency_key, f"assessments:{principal.subject}", body.model_dump(mode="json")
        ),
    )


@router.put("/assessments/{assessment_id}", response_model=AssessmentOut)
async def revise_assessment(
    assessment_id: uuid.UUID, body: AssessmentIn, principal: CurrentPrincipal, runner: UseCases
) -> JSONResponse:
    """Write the next version as a draft (again, while it is one); attempts keep drawing the
    published version until the draft is published."""
    principal.require(*AUTHORS)
    command = commands.ReviseAssessment(assessment_id, create_command(body, principal.subject))
    return await runner.respond(command, views.keyed_view)


@router.post("/assessments/{assessment_id}/publish", response_model=AssessmentOut)
async def publish_assessment(
    assessment_id: uuid.UUID, principal: CurrentPrincipal, runner: UseCases
) -> JSONResponse:
    """The draft replaces the published version for every attempt started from now on;
    attempts already started keep theirs."""
    principal.require(*AUTHORS)
    return await runner.respond(commands.PublishAssessment(assessment_id), views.keyed_view)


@router.get("/assessments", response_model=Page[AssessmentSummary])
async def list_assessments(
    principal: CurrentPrincipal,
    runner: UseCases,
    cursors: PageCursors,
    course_id: uuid.UUID | None = None,
    kind: AssessmentKind | None = None,
    cursor: CursorParam = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[AssessmentSummary]:
    """Authors, supervisors and admins see every assessment; learners those of their courses."""
    sees_all = principal.has(Role.INSTRUCTOR, Role.ADMIN, Role.SUPERVISOR)
    enrolled_learner_id = None if sees_all else learner_of(principal)
    after = cursors.after_id("assessments", cursor)
    async with runner.read() as conn:
        rows = await queries.assessment_page(
            conn,
            enrolled_learner_id=enrolled_learner_id,
            course_id=course_id,
            kind=kind,
            after=after,
            limit=limit,
        )
        counts = await queries.question_counts(conn, [r.assessment_id for r in rows[:limit]])
    items = [views.listed_summary_out(r, counts.get(r.assessment_id, 0)) for r in rows[:limit]]
    next_cursor = (
        cursors.encode("assessments", id=str(rows[limit - 1].assessment_id))
        if len(rows) > limit
        else None
    )
    return Page(items=items, next_cursor=next_cursor)


@router.get("/assessments/{assessment_id}", response_model=AssessmentOut | AssessmentSummary)
async def get_assessment(
    assessment_id: uuid.UUID,
    principal: CurrentPrincipal,
    runtime: ServiceRuntime,
    version: Annotated[
        int | None, Query(ge=1, le=1_000_000, description="authors: any version")
    ] = None,
) -> AssessmentOut | AssessmentSummary:
    """Authors get a version's bank with its answer key (the published one, or ``version``,
    a draft included); learners a summary of the published one with where they stand."""
    wanted = version if principal.has(*AUTHORS) else None
    async with runtime.runner.read() as conn:
        assessment = await queries.assessment(
            conn, assessment_id, runtime.deps.assessment_cache, wanted
        )
        if assessment is None:
            raise UnknownAssessment(str(assessment_id))
        if principal.has(*AUTHORS):
            return views.keyed_out(assessment)
        if principal.has(Role.SUPERVISOR):
            return views.summary_out(assessment)
        return await learner_summary(conn, assessment, learner_of(principal), runtime.clock())


async def learner_summary(
    conn: AsyncConnection, assessment: Assessment, learner_id: uuid.UUID, now: datetime
) -> AssessmentSummary:
    enrollment = await queries.active_enrollment(conn, learner_id, assessment.course_id)
    if enrollment is None:
        raise UnknownAssessment(str(assessment.assessment_id))
    taken = await queries.attempts_of(conn, learner_id, assessment.assessment_id)
    course = await queries.course_version(conn, enrollment.course_id, enrollment.course_version)
    extra = await queries.extra_attempts(conn, learner_id, assessment.assessment_id)
    return views.learner_summary_out(assessment, enrollment, course, taken, now, extra)
