"""Domain events -> public contract events: the one place the content service translates.

Injected into the service's definition as its ``outbound``; the stores never import it."""

from __future__ import annotations

from functools import singledispatch

import lms_contracts as c

from ..domain import events as e


@singledispatch
def to_contract(event: object) -> list[c.EventData]:
    raise TypeError(f"no contract for {type(event).__name__}")


@to_contract.register
def _(event: e.CoursePublished) -> list[c.EventData]:
    course = event.course
    assert course.published_at is not None
    return [
        c.CoursePublished(
            course_id=course.course_id,
            course_version=course.version,
            code=course.code,
            title=course.title,
            competency_area=course.competency_area,
            lesson_ids=course.lesson_ids,
            required_lesson_ids=course.required_lesson_ids,
            published_at=course.published_at,
            lessons=[
                c.PublishedLesson(lesson_id=x.lesson_id, title=x.title, required=x.required)
                for x in course.lessons
            ],
            pre_test_before_lessons=course.rules.pre_test_before_lessons,
            min_post_test_score=course.rules.min_post_test_score,
            prerequisite_course_ids=list(course.rules.prerequisite_course_ids),
            training_hours=course.training_hours,
        )
    ]


@to_contract.register
def _(event: e.LessonCompleted) -> list[c.EventData]:
    return [
        c.LessonCompleted(
            learner_id=event.learner_id,
            course_id=event.course_id,
            course_version=event.course_version,
            lesson_id=event.lesson_id,
            village_code=event.village_code,
            completed_at=event.completed_at,
            recorded_at=event.recorded_at,
            offline=event.offline,
        )
    ]
