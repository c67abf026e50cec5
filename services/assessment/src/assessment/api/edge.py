"""What the assessment routes share: the clock, one-transaction runs, problems, views."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Annotated, Any, cast

from fastapi import Header, Request
from fastapi.responses import JSONResponse

from servicekit.auth import Principal, Role
from servicekit.database import Transaction
from servicekit.idempotency import idempotent_transaction
from servicekit.problems import Problem, field_problem
from servicekit.service import RuntimeDep

from ..domain.errors import (
    DomainError,
    InvalidField,
    MaxAttemptsReached,
    NotEnrolled,
    PostTestLocked,
    UnknownAssessment,
    UnknownAttempt,
)
from ..domain.model import Assessment, Attempt, AttemptStatus, QuestionKind
from ..settings import AssessmentSettings
from ..store.repository import AssessmentCache, SqlUnitOfWork
from .schemas import (
    AssessmentOut,
    AssessmentSummary,
    AttemptOut,
    OptionKeyOut,
    PaperOptionOut,
    PaperQuestionOut,
    QuestionKeyOut,
    ResultOut,
)

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]
AUTHORS = (Role.INSTRUCTOR, Role.ADMIN)


def now_of(request: Request) -> datetime:
    return request.app.state.clock()


def grace_of(runtime: RuntimeDep) -> timedelta:
    return timedelta(seconds=cast(AssessmentSettings, runtime.settings).submit_grace_seconds)


def cache_of(runtime: RuntimeDep) -> AssessmentCache:
    cache = runtime.extras.get("assessments")
    if cache is None:
        cache = runtime.extras["assessments"] = AssessmentCache()
    return cast(AssessmentCache, cache)


def cursor_id(position: dict[str, Any]) -> uuid.UUID:
    try:
        return uuid.UUID(str(position.get("id")))
    except ValueError as exc:
        raise field_problem("cursor", "not a cursor returned by this API") from exc


def learner_of(principal: Principal) -> uuid.UUID:
    if not principal.has(Role.LEARNER) or principal.learner_id is None:
        raise Problem(403, "forbidden", "only a learner (a token with learner_id) takes attempts")
    return principal.learner_id


def domain_problem(exc: DomainError) -> Problem:
    if isinstance(exc, InvalidField):
        return field_problem(exc.field, exc.message)
    if isinstance(exc, UnknownAssessment):
        return Problem(404, "assessment_not_found", "no assessment with this id is visible to you")
    if isinstance(exc, UnknownAttempt):
        return Problem(404, "attempt_not_found", "no attempt with this id is visible to you")
    if isinstance(exc, NotEnrolled):
        return Problem(403, "not_enrolled", str(exc))
    if isinstance(exc, PostTestLocked):
        return Problem(409, "post_test_locked", str(exc), missing_lessons=exc.missing_lessons)
    if isinstance(exc, MaxAttemptsReached):
        return Problem(409, "max_attempts_reached", str(exc), max_attempts=exc.max_attempts)
    return Problem(409, "conflict", str(exc))


async def in_transaction(
    runtime: RuntimeDep,
    work: Callable[[SqlUnitOfWork], Awaitable[tuple[int, Any]]],
    *,
    key: str | None = None,
    scope: str = "",
    body: Any = None,
    created_by: str = "",
) -> JSONResponse:
    """Run ``work`` and its events in one transaction; with a key, repeats get the first answer."""

    async def in_unit_of_work(tx: Transaction) -> tuple[int, Any]:
        uow = SqlUnitOfWork(tx, created_by, cache_of(runtime))
        answer = await work(uow)
        await uow.flush_events()
        return answer

    try:
        return await idempotent_transaction(
            runtime.database, runtime.idempotency, in_unit_of_work, key=key, scope=scope, body=body
        )
    except DomainError as exc:
        raise domain_problem(exc) from exc


def shown_status(attempt: Attempt, now: datetime, grace: timedelta) -> AttemptStatus:
    """An abandoned attempt past its time is expired even before the sweeper closes it."""
    if attempt.status == AttemptStatus.IN_PROGRESS and attempt.is_late(now, grace):
        return AttemptStatus.EXPIRED
    return attempt.status


def result_out(attempt: Attempt, assessment: Assessment, status: AttemptStatus) -> ResultOut:
    return ResultOut(
        attempt_id=attempt.attempt_id,
        assessment_id=assessment.assessment_id,
        assessment_kind=assessment.kind,
        learner_id=attempt.learner_id,
        attempt_number=attempt.attempt_number,
        status=status,
        score=attempt.score,
        pass_score=assessment.pass_score,
        passed=attempt.passed,
        points=attempt.points,
        max_points=attempt.max_points,
        graded_at=attempt.graded_at,
    )


def attempt_out(attempt: Attempt, assessment: Assessment, status: AttemptStatus) -> AttemptOut:
    """The paper as the learner sees it: prompts and option texts, never what is correct."""
    questions = []
    for drawn in attempt.paper:
        question = assessment.question(drawn.question_id)
        assert question is not None
        texts = {o.option_id: o.text for o in question.options}
        questions.append(
            PaperQuestionOut(
                question_id=question.question_id,
                kind=question.kind,
                prompt=question.prompt,
                points=question.points,
                options=[PaperOptionOut(option_id=o, text=texts[o]) for o in drawn.option_ids],
            )
        )
    return AttemptOut(
        **result_out(attempt, assessment, status).model_dump(),
        started_at=attempt.started_at,
        expires_at=attempt.expires_at,
        questions=questions,
    )


def summary_out(assessment: Assessment) -> AssessmentSummary:
    return AssessmentSummary(
        assessment_id=assessment.assessment_id,
        course_id=assessment.course_id,
        kind=assessment.kind,
        title=assessment.title,
        pass_score=assessment.pass_score,
        max_attempts=assessment.max_attempts,
        time_limit_seconds=assessment.time_limit_seconds,
        questions_drawn=assessment.questions_drawn,
        question_count=len(assessment.questions),
        shuffle_questions=assessment.shuffle_questions,
        shuffle_options=assessment.shuffle_options,
        created_at=assessment.created_at,
    )


def keyed_out(assessment: Assessment) -> AssessmentOut:
    """The whole bank with its answer key: authors only."""
    questions = []
    for q in assessment.questions:
        is_choice = q.kind in (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE)
        is_short = q.kind == QuestionKind.SHORT_ANSWER
        questions.append(
            QuestionKeyOut(
                question_id=q.question_id,
                kind=q.kind,
                prompt=q.prompt,
                points=q.points,
                options=[OptionKeyOut(**o.__dict__) for o in q.options] if is_choice else None,
                answer=q.answer,
                accepted_answers=list(q.accepted_answers) if is_short else None,
                match=q.match if is_short else None,
            )
        )
    return AssessmentOut(**summary_out(assessment).model_dump(), questions=questions)
