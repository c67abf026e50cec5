"""Contract events -> commands: the assessment service's one subscription list."""

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
            required_lesson_ids=tuple(data.required_lesson_ids),
        ),
        usecases.record_course_published,
    )


async def on_enrolled(tx: Transaction, event: c.CloudEvent[Any]) -> None:
    data: c.Enrolled = event.data
    await _run(
        tx,
        commands.RecordEnrolled(
            enrollment_id=data.enrollment_id,
            learner_id=data.learner_id,
            course_id=data.course_id,
            course_version=data.course_version,
            village_code=data.village_code,
            enrolled_at=data.enrolled_at,
        ),
        usecases.record_enrolled,
    )


async def on_withdrawn(tx: Transaction, event: c.CloudEvent[Any]) -> None:
    data: c.Withdrawn = event.data
    await _run(
        tx,
        commands.RecordWithdrawn(
            enrollment_id=data.enrollment_id,
            learner_id=data.learner_id,
            course_id=data.course_id,
            village_code=data.village_code,
            withdrawn_at=data.withdrawn_at,
        ),
        usecases.record_withdrawn,
    )


async def on_lesson_completed(tx: Transaction, event: c.CloudEvent[Any]) -> None:
    data: c.LessonCompleted = event.data
    await _run(
        tx,
        commands.RecordLessonCompleted(
            learner_id=data.learner_id,
            course_id=data.course_id,
            lesson_id=data.lesson_id,
            village_code=data.village_code,
            completed_at=data.completed_at,
        ),
        usecases.record_lesson_completed,
    )


SUBSCRIPTION = Subscription(
    handlers={
        c.CoursePublished: on_course_published,
        c.Enrolled: on_enrolled,
        c.Withdrawn: on_withdrawn,
        c.LessonCompleted: on_lesson_completed,
    }
)
