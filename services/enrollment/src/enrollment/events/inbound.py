"""Contract events -> commands: the enrollment service's one subscription list."""

from __future__ import annotations

from typing import Any

import lms_contracts as c
from servicekit.consumer import Subscription
from servicekit.database import Transaction

from .. import usecases
from ..domain import commands
from ..store.repository import SqlUnitOfWork


async def _run(tx: Transaction, command: Any, handler: Any) -> None:
    uow = SqlUnitOfWork(tx)
    await handler(command, uow)
    await uow.flush_events()


async def on_course_published(tx: Transaction, event: c.CloudEvent[Any]) -> None:
    data: c.CoursePublished = event.data
    await _run(
        tx,
        commands.RecordCoursePublished(
            course_id=data.course_id,
            version=data.course_version,
            title=data.title,
            code=data.code,
            required_lesson_ids=tuple(data.required_lesson_ids),
            published_at=data.published_at,
        ),
        usecases.record_course_published,
    )


async def on_lesson_completed(tx: Transaction, event: c.CloudEvent[Any]) -> None:
    data: c.LessonCompleted = event.data
    await _run(
        tx,
        commands.RecordLessonCompleted(
            learner_id=data.learner_id,
            course_id=data.course_id,
            lesson_id=data.lesson_id,
            completed_at=data.completed_at,
        ),
        usecases.record_lesson_completed,
    )


async def on_passed(tx: Transaction, event: c.CloudEvent[Any]) -> None:
    data: c.Passed = event.data
    if data.assessment_kind != c.AssessmentKind.POST_TEST:
        return
    await _run(
        tx,
        commands.RecordPostTestPassed(
            learner_id=data.learner_id,
            course_id=data.course_id,
            score=data.score,
            passed_at=data.graded_at,
        ),
        usecases.record_post_test_passed,
    )


SUBSCRIPTION = Subscription(
    handlers={
        c.CoursePublished: on_course_published,
        c.LessonCompleted: on_lesson_completed,
        c.Passed: on_passed,
    }
)
