"""SQL unit of work: the assessment domain's view of its tables inside one transaction."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from servicekit.database import Transaction

from ..domain import commands
from ..domain.events import DomainEvent
from ..domain.model import (
    Answer,
    Assessment,
    AssessmentKind,
    Attempt,
    AttemptStatus,
    CourseVersion,
    DrawnQuestion,
    LearnerEnrollment,
    Match,
    Option,
    Question,
    QuestionKind,
)
from ..events.outbound import to_contract
from .tables import (
    assessments,
    attempts,
    course_versions,
    enrollments,
    lesson_completions,
    questions,
)


class SqlUnitOfWork:
    def __init__(self, tx: Transaction, created_by: str = "") -> None:
        self.tx = tx
        self.conn = tx.conn
        self.created_by = created_by
        self.events: list[DomainEvent] = []

    def publish(self, event: DomainEvent) -> None:
        self.events.append(event)

    async def flush_events(self) -> None:
        for event in self.events:
            for data in to_contract(event):
                await self.tx.emit(data)
        self.events.clear()

    # question banks
    async def add_assessment(self, assessment: Assessment) -> None:
        await self.conn.execute(
            assessments.insert().values(**assessment_values(assessment), created_by=self.created_by)
        )
        await self.conn.execute(
            questions.insert(),
            [
                question_values(assessment.assessment_id, position, question)
                for position, question in enumerate(assessment.questions)
            ],
        )

    async def get_assessment(self, assessment_id: uuid.UUID) -> Assessment | None:
        return await load_assessment(self.conn, assessment_id)

    # attempts
    async def attempts_of(self, learner_id: uuid.UUID, assessment_id: uuid.UUID) -> list[Attempt]:
        rows = await self.conn.execute(
            select(attempts)
            .where(attempts.c.learner_id == learner_id, attempts.c.assessment_id == assessment_id)
            .order_by(attempts.c.attempt_number)
        )
        return [attempt_from_row(row) for row in rows]

    async def get_attempt(self, attempt_id: uuid.UUID, *, lock: bool = False) -> Attempt | None:
        query = select(attempts).where(attempts.c.attempt_id == attempt_id)
        row = (await self.conn.execute(query.with_for_update() if lock else query)).first()
        return attempt_from_row(row) if row else None

    async def add_attempt(self, attempt: Attempt) -> None:
        await self.conn.execute(attempts.insert().values(**attempt_values(attempt)))

    async def save_attempt(self, attempt: Attempt) -> None:
        await self.conn.execute(
            attempts.update()
            .where(attempts.c.attempt_id == attempt.attempt_id)
            .values(**attempt_values(attempt))
        )

    async def overdue_attempts(self, expired_before: datetime, limit: int) -> list[Attempt]:
        rows = await self.conn.execute(
            select(attempts)
            .where(
                attempts.c.status == AttemptStatus.IN_PROGRESS.value,
                attempts.c.expires_at.is_not(None),
                attempts.c.expires_at < expired_before,
            )
            .order_by(attempts.c.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [attempt_from_row(row) for row in rows]

    # what events taught us
    async def active_enrollment(
        self, learner_id: uuid.UUID, course_id: uuid.UUID, *, lock: bool = False
    ) -> LearnerEnrollment | None:
        query = (
            select(enrollments)
            .where(
                enrollments.c.learner_id == learner_id,
                enrollments.c.course_id == course_id,
                enrollments.c.withdrawn_at.is_(None),
                enrollments.c.course_version.is_not(None),
            )
            .order_by(enrollments.c.enrolled_at.desc())
            .limit(1)
        )
        row = (await self.conn.execute(query.with_for_update() if lock else query)).first()
        if row is None:
            return None
        lessons = await self.conn.execute(
            select(lesson_completions.c.lesson_id).where(
                lesson_completions.c.learner_id == learner_id,
                lesson_completions.c.course_id == course_id,
            )
        )
        return LearnerEnrollment(
            enrollment_id=row.enrollment_id,
            learner_id=row.learner_id,
            course_id=row.course_id,
            course_version=row.course_version,
            village_code=row.village_code,
            completed_lesson_ids=frozenset(lessons.scalars()),
        )

    async def course_version(self, course_id: uuid.UUID, version: int) -> CourseVersion | None:
        row = (
            await self.conn.execute(
                select(course_versions).where(
                    course_versions.c.course_id == course_id,
                    course_versions.c.version == version,
                )
            )
        ).first()
        if row is None:
            return None
        return CourseVersion(
            row.course_id, row.version, frozenset(uuid.UUID(x) for x in row.required_lesson_ids)
        )

    async def add_course_version(self, course: CourseVersion) -> None:
        await self.conn.execute(
            insert(course_versions)
            .values(
                course_id=course.course_id,
                version=course.version,
                required_lesson_ids=sorted(str(x) for x in course.required_lesson_ids),
            )
            .on_conflict_do_nothing()
        )

    async def save_enrollment(self, cmd: commands.RecordEnrolled) -> None:
        enrolled = {
            "course_version": cmd.course_version,
            "village_code": cmd.village_code,
            "enrolled_at": cmd.enrolled_at,
        }
        statement = insert(enrollments).values(
            enrollment_id=cmd.enrollment_id,
            learner_id=cmd.learner_id,
            course_id=cmd.course_id,
            **enrolled,
        )
        await self.conn.execute(
            statement.on_conflict_do_update(index_elements=["enrollment_id"], set_=enrolled)
        )

    async def withdraw_enrollment(self, cmd: commands.RecordWithdrawn) -> None:
        statement = insert(enrollments).values(
            enrollment_id=cmd.enrollment_id,
            learner_id=cmd.learner_id,
            course_id=cmd.course_id,
            village_code=cmd.village_code,
            withdrawn_at=cmd.withdrawn_at,
        )
        await self.conn.execute(
            statement.on_conflict_do_update(
                index_elements=["enrollment_id"], set_={"withdrawn_at": cmd.withdrawn_at}
            )
        )

    async def add_lesson_completion(self, cmd: commands.RecordLessonCompleted) -> None:
        await self.conn.execute(
            insert(lesson_completions)
            .values(
                learner_id=cmd.learner_id,
                course_id=cmd.course_id,
                lesson_id=cmd.lesson_id,
                completed_at=cmd.completed_at,
            )
            .on_conflict_do_nothing()
        )


async def load_assessment(conn: Any, assessment_id: uuid.UUID) -> Assessment | None:
    row = (
        await conn.execute(select(assessments).where(assessments.c.assessment_id == assessment_id))
    ).first()
    if row is None:
        return None
    bank = await conn.execute(
        select(questions)
        .where(questions.c.assessment_id == assessment_id)
        .order_by(questions.c.position)
    )
    return assessment_from_rows(row, list(bank))


def assessment_from_rows(row: Any, bank: list[Any]) -> Assessment:
    return Assessment(
        assessment_id=row.assessment_id,
        course_id=row.course_id,
        kind=AssessmentKind(row.kind),
        title=row.title,
        pass_score=row.pass_score,
        max_attempts=row.max_attempts,
        time_limit_seconds=row.time_limit_seconds,
        questions_drawn=row.questions_drawn,
        shuffle_questions=row.shuffle_questions,
        shuffle_options=row.shuffle_options,
        questions=tuple(question_from_row(q) for q in bank),
        created_at=row.created_at,
    )


def question_from_row(row: Any) -> Question:
    return Question(
        question_id=row.question_id,
        kind=QuestionKind(row.kind),
        prompt=row.prompt,
        points=row.points,
        options=tuple(
            Option(uuid.UUID(o["option_id"]), o["text"], o["correct"]) for o in row.options
        ),
        answer=row.answer,
        accepted_answers=tuple(row.accepted_answers),
        match=Match(row.match) if row.match else Match.NORMALISED,
    )


def assessment_values(assessment: Assessment) -> dict[str, Any]:
    return {
        "assessment_id": assessment.assessment_id,
        "course_id": assessment.course_id,
        "kind": assessment.kind.value,
        "title": assessment.title,
        "pass_score": assessment.pass_score,
        "max_attempts": assessment.max_attempts,
        "time_limit_seconds": assessment.time_limit_seconds,
        "questions_drawn": assessment.questions_drawn,
        "shuffle_questions": assessment.shuffle_questions,
        "shuffle_options": assessment.shuffle_options,
        "created_at": assessment.created_at,
    }


def question_values(assessment_id: uuid.UUID, position: int, question: Question) -> dict[str, Any]:
    return {
        "question_id": question.question_id,
        "assessment_id": assessment_id,
        "position": position,
        "kind": question.kind.value,
        "prompt": question.prompt,
        "points": question.points,
        "options": [
            {"option_id": str(o.option_id), "text": o.text, "correct": o.correct}
            for o in question.options
        ],
        "answer": question.answer,
        "accepted_answers": list(question.accepted_answers),
        "match": question.match.value if question.kind == QuestionKind.SHORT_ANSWER else None,
    }


def attempt_from_row(row: Any) -> Attempt:
    return Attempt(
        attempt_id=row.attempt_id,
        assessment_id=row.assessment_id,
        learner_id=row.learner_id,
        course_id=row.course_id,
        village_code=row.village_code,
        attempt_number=row.attempt_number,
        seed=row.seed,
        paper=tuple(
            DrawnQuestion(uuid.UUID(d["question_id"]), tuple(uuid.UUID(o) for o in d["option_ids"]))
            for d in row.paper
        ),
        started_at=row.started_at,
        expires_at=row.expires_at,
        status=AttemptStatus(row.status),
        answers=tuple(_answer_from_json(a) for a in row.answers or ()),
        points=row.points,
        max_points=row.max_points,
        score=row.score,
        passed=row.passed,
        graded_at=row.graded_at,
    )


def attempt_values(attempt: Attempt) -> dict[str, Any]:
    return {
        "attempt_id": attempt.attempt_id,
        "assessment_id": attempt.assessment_id,
        "learner_id": attempt.learner_id,
        "course_id": attempt.course_id,
        "village_code": attempt.village_code,
        "attempt_number": attempt.attempt_number,
        "seed": attempt.seed,
        "paper": [
            {"question_id": str(d.question_id), "option_ids": [str(o) for o in d.option_ids]}
            for d in attempt.paper
        ],
        "started_at": attempt.started_at,
        "expires_at": attempt.expires_at,
        "status": attempt.status.value,
        "answers": [_answer_to_json(a) for a in attempt.answers],
        "points": attempt.points,
        "max_points": attempt.max_points,
        "score": attempt.score,
        "passed": attempt.passed,
        "graded_at": attempt.graded_at,
    }


def _answer_to_json(answer: Answer) -> dict[str, Any]:
    body: dict[str, Any] = {"question_id": str(answer.question_id)}
    if answer.option_ids is not None:
        body["option_ids"] = [str(o) for o in answer.option_ids]
    if answer.value is not None:
        body["value"] = answer.value
    if answer.text is not None:
        body["text"] = answer.text
    return body


def _answer_from_json(body: dict[str, Any]) -> Answer:
    option_ids = body.get("option_ids")
    return Answer(
        question_id=uuid.UUID(body["question_id"]),
        option_ids=tuple(uuid.UUID(o) for o in option_ids) if option_ids is not None else None,
        value=body.get("value"),
        text=body.get("text"),
    )
