"""Contract events -> commands: the enrollment service's one subscription list."""

from __future__ import annotations

from typing import Any

import lms_contracts as c
from servicekit.service import Translator

from ..domain import commands


def course_published(event: c.CloudEvent[Any]) -> commands.RecordCoursePublished:
    data: c.CoursePublished = event.data
    return commands.RecordCoursePublished(
        course_id=data.course_id,
        version=data.course_version,
        title=data.title,
        code=data.code,
        required_lesson_ids=tuple(data.required_lesson_ids),
        published_at=data.published_at,
        lesson_ids=tuple(data.lesson_ids),
    )


def lesson_completed(event: c.CloudEvent[Any]) -> commands.RecordLessonCompleted:
    data: c.LessonCompleted = event.data
    return commands.RecordLessonCompleted(
        learner_id=data.learner_id,
        course_id=data.course_id,
        lesson_id=data.lesson_id,
        completed_at=data.completed_at,
    )


def passed(event: c.CloudEvent[Any]) -> commands.RecordPostTestPassed | None:
    """Only a passed post-test counts towards completing a course."""
    data: c.Passed = event.data
    if data.assessment_kind != c.AssessmentKind.POST_TEST:
        return None
    return commands.RecordPostTestPassed(
        learner_id=data.learner_id,
        course_id=data.course_id,
        score=data.score,
        passed_at=data.graded_at,
    )


INBOUND: dict[type[c.EventData], Translator] = {
    c.CoursePublished: course_published,
    c.LessonCompleted: lesson_completed,
    c.Passed: passed,
}
