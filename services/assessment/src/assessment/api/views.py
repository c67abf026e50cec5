"""Domain objects and rows -> what clients see, never with the answer key for a learner."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from servicekit.i18n import problem_detail

from ..domain.errors import DomainError, MaxAttemptsReached, PostTestLocked
from ..domain.model import (
    Assessment,
    AssessmentKind,
    Attempt,
    AttemptStatus,
    CourseVersion,
    LearnerEnrollment,
    QuestionKind,
    attempts_allowed,
)
from ..store import queries
from ..store.rows import assessment_from_rows, attempt_from_row
from ..store.unit_of_work import SqlUnitOfWork
from .refusals import REFUSALS, explain_locked
from .schemas import (
    AssessmentOut,
    AssessmentSummary,
    AttemptOut,
    OptionKeyOut,
    PaperOptionOut,
    PaperOut,
    PaperQuestionOut,
    PaperRules,
    QuestionKeyOut,
    ResultOut,
)

PAPER_FORMAT = "lms-offline-paper/1"


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
        assessment_version=attempt.assessment_version,
        offline=attempt.offline,
        answered_at=attempt.answered_at,
    )


def listed_result_out(row: Any, now: datetime, grace: timedelta) -> ResultOut:
    """A row of the attempt list: the attempt with its assessment's kind and pass score."""
    attempt = attempt_from_row(row)
    return ResultOut(
        attempt_id=attempt.attempt_id,
        assessment_id=attempt.assessment_id,
        assessment_kind=AssessmentKind(row.kind),
        learner_id=attempt.learner_id,
        attempt_number=attempt.attempt_number,
        status=shown_status(attempt, now, grace),
        score=attempt.score,
        pass_score=row.pass_score,
        passed=attempt.passed,
        points=attempt.points,
        max_points=attempt.max_points,
        graded_at=attempt.graded_at,
        assessment_version=attempt.assessment_version,
        offline=attempt.offline,
        answered_at=attempt.answered_at,
    )


def paper_questions(attempt: Attempt, assessment: Assessment) -> list[PaperQuestionOut]:
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
    return questions


def attempt_out(attempt: Attempt, assessment: Assessment, status: AttemptStatus) -> AttemptOut:
    return AttemptOut(
        **result_out(attempt, assessment, status).model_dump(),
        started_at=attempt.started_at,
        expires_at=attempt.expires_at,
        questions=paper_questions(attempt, assessment),
    )


async def paper_view(started: tuple[Attempt, bool], uow: SqlUnitOfWork) -> dict[str, Any]:
    """A started (or resumed) attempt with its paper."""
    attempt, _ = started
    assessment = await uow.get_assessment(attempt.assessment_id, attempt.assessment_version)
    assert assessment is not None
    return attempt_out(attempt, assessment, attempt.status).model_dump(mode="json")


async def offline_paper_view(started: tuple[Attempt, bool], uow: SqlUnitOfWork) -> dict[str, Any]:
    """A paper to take offline, with the rules a client tells the learner before going."""
    attempt, _ = started
    assessment = await uow.get_assessment(attempt.assessment_id, attempt.assessment_version)
    assert assessment is not None
    used = sum(a.counts for a in await uow.attempts_of(attempt.learner_id, attempt.assessment_id))
    extra = await uow.extra_attempts(attempt.learner_id, attempt.assessment_id)
    limit = attempts_allowed(assessment, extra)
    rules = PaperRules(
        offline=True,
        timed=False,
        graded="once_when_synced",
        pass_score=assessment.pass_score,
        max_attempts=limit,
        attempts_used=used,
        attempts_left=None if limit is None else max(limit - used, 0),
        course_version=attempt.course_version,
        post_test_offline=await queries.post_test_offline(uow.conn, assessment.course_id),
        submit_path=f"/v1/attempts/{attempt.attempt_id}/submit",
        answered_at="the device's time when the learner finished, with its UTC offset",
    )
    return PaperOut(
        format=PAPER_FORMAT,
        attempt_id=attempt.attempt_id,
        assessment_id=assessment.assessment_id,
        assessment_kind=assessment.kind,
        assessment_version=assessment.version,
        title=assessment.title,
        course_id=assessment.course_id,
        learner_id=attempt.learner_id,
        attempt_number=attempt.attempt_number,
        issued_at=attempt.started_at,
        rules=rules,
        questions=paper_questions(attempt, assessment),
    ).model_dump(mode="json")


async def result_view(attempt: Attempt, uow: SqlUnitOfWork) -> dict[str, Any]:
    """A submitted attempt's result, without its paper."""
    assessment = await uow.get_assessment(attempt.assessment_id, attempt.assessment_version)
    assert assessment is not None
    return result_out(attempt, assessment, attempt.status).model_dump(mode="json")


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
        allow_offline=assessment.allow_offline,
        created_at=assessment.created_at,
        version=assessment.version,
        status=assessment.status,
        review=assessment.review,
    )


def listed_summary_out(row: Any, question_count: int) -> AssessmentSummary:
    """A row of the assessment list, whose bank is counted rather than read."""
    return summary_out(assessment_from_rows(row, [])).model_copy(
        update={"question_count": question_count}
    )


def learner_summary_out(
    assessment: Assessment,
    enrollment: LearnerEnrollment,
    course: CourseVersion | None,
    taken: list[Attempt],
    now: datetime,
    extra: int = 0,
) -> AssessmentSummary:
    """The summary with where the learner stands: attempts used, and whether (or why not)
    another may be started."""
    reason = None
    try:
        enrollment.require_open(assessment.kind, course)
    except PostTestLocked as exc:
        reason = explain_locked(exc)
    except DomainError as exc:
        reason = _told(exc)
    used = sum(a.counts for a in taken)
    resumable = any(a.is_open(now) for a in taken)
    allowed = attempts_allowed(assessment, extra)
    if reason is None and not resumable and allowed is not None and used >= allowed:
        reason = _told(MaxAttemptsReached(allowed))
    return summary_out(assessment).model_copy(
        update={
            "attempts_allowed": allowed,
            "attempts_used": used,
            "available": reason is None,
            "unavailable_reason": reason,
        }
    )


def _told(refused: DomainError) -> str:
    """Why an attempt cannot be started, as its problem would say it to this learner."""
    problem = REFUSALS.problem(refused)
    return problem_detail(problem.code, problem.detail, problem.extra)


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


def keyed_view(assessment: Assessment, uow: SqlUnitOfWork) -> dict[str, Any]:
    """A created assessment, as its author sees it."""
    return keyed_out(assessment).model_dump(mode="json")
