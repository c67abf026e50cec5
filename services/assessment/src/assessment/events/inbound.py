"""Contract events -> commands: the assessment service's one subscription list."""

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
        required_lesson_ids=tuple(data.required_lesson_ids),
        lessons=tuple((x.lesson_id, x.title) for x in data.lessons),
    )


def enrolled(event: c.CloudEvent[Any]) -> commands.RecordEnrolled:
    data: c.Enrolled = event.data
    return commands.RecordEnrolled(
        enrollment_id=data.enrollment_id,
        learner_id=data.learner_id,
        course_id=data.course_id,
        course_version=data.course_version,
        village_code=data.village_code,
        enrolled_at=data.enrolled_at,
    )


def withdrawn(event: c.CloudEvent[Any]) -> commands.RecordWithdrawn:
    data: c.Withdrawn = event.data
    return commands.RecordWithdrawn(
        enrollment_id=data.enrollment_id,
        learner_id=data.learner_id,
        course_id=data.course_id,
        village_code=data.village_code,
        withdrawn_at=data.withdrawn_at,
    )


def lesson_completed(event: c.CloudEvent[Any]) -> commands.RecordLessonCompleted:
    data: c.LessonCompleted = event.data
    return commands.RecordLessonCompleted(
        learner_id=data.learner_id,
        course_id=data.course_id,
        lesson_id=data.lesson_id,
        village_code=data.village_code,
        completed_at=data.completed_at,
    )


def course_version_changed(event: c.CloudEvent[Any]) -> commands.RecordVersionChange:
    data: c.CourseVersionChanged = event.data
    return commands.RecordVersionChange(
        enrollment_id=data.enrollment_id,
        learner_id=data.learner_id,
        course_id=data.course_id,
        course_version=data.course_version,
        village_code=data.village_code,
        move_number=data.move_number,
    )


INBOUND: dict[type[c.EventData], Translator] = {
    c.CoursePublished: course_published,
    c.Enrolled: enrolled,
    c.Withdrawn: withdrawn,
    c.CourseVersionChanged: course_version_changed,
    c.LessonCompleted: lesson_completed,
}
