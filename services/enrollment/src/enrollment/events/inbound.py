"""Contract events -> commands: the enrollment service's one subscription list."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import lms_contracts as c
from servicekit.service import Together, Translator

from ..domain import commands
from ..domain.completion import CompletionRules


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
        lesson_titles=tuple((x.lesson_id, x.title) for x in data.lessons),
        rules=CompletionRules(
            pre_test_before_lessons=data.pre_test_before_lessons,
            min_post_test_score=data.min_post_test_score,
            prerequisite_course_ids=tuple(data.prerequisite_course_ids),
        ),
        training_hours=data.training_hours,
    )


def lesson_completed(event: c.CloudEvent[Any]) -> commands.RecordLessonCompleted:
    data: c.LessonCompleted = event.data
    return commands.RecordLessonCompleted(
        learner_id=data.learner_id,
        course_id=data.course_id,
        lesson_id=data.lesson_id,
        completed_at=data.completed_at,
    )


def lessons_completed(events: Sequence[c.CloudEvent[Any]]) -> commands.RecordLessonsCompleted:
    return commands.RecordLessonsCompleted(
        tuple(
            commands.LessonDone(
                event_id=event.id,
                learner_id=event.data.learner_id,
                course_id=event.data.course_id,
                lesson_id=event.data.lesson_id,
                completed_at=event.data.completed_at,
            )
            for event in events
        )
    )


def passed(
    event: c.CloudEvent[Any],
) -> commands.RecordPostTestPassed | commands.RecordPreTestTaken | None:
    """A passed post-test counts towards completing a course; a pre-test taken too, where
    the version asks for it."""
    data: c.Passed = event.data
    if data.assessment_kind == c.AssessmentKind.PRE_TEST:
        return commands.RecordPreTestTaken(data.learner_id, data.course_id, data.graded_at)
    if data.assessment_kind != c.AssessmentKind.POST_TEST:
        return None
    return commands.RecordPostTestPassed(
        learner_id=data.learner_id,
        course_id=data.course_id,
        score=data.score,
        passed_at=data.graded_at,
    )


def failed(event: c.CloudEvent[Any]) -> commands.RecordPreTestTaken | None:
    """A failed pre-test is a pre-test taken; a failed post-test changes nothing here."""
    data: c.Failed = event.data
    if data.assessment_kind != c.AssessmentKind.PRE_TEST:
        return None
    return commands.RecordPreTestTaken(data.learner_id, data.course_id, data.graded_at)


INBOUND: dict[type[c.EventData], Translator | Together] = {
    c.CoursePublished: course_published,
    # a batch's lessons together (``store/lessons.py``); one by one those that may complete
    c.LessonCompleted: Together(batch=lessons_completed, each=lesson_completed),
    c.Passed: passed,
    c.Failed: failed,
}
