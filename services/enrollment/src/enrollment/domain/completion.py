"""What completing a course version asks and what a learner still lacks (``api/explanations``
says it to them in their language)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


@dataclass(frozen=True)
class CompletionRules:
    """Besides every required lesson and a passed post-test, which a version always asks."""

    pre_test_before_lessons: bool = False
    min_post_test_score: float | None = None
    prerequisite_course_ids: tuple[uuid.UUID, ...] = ()


@dataclass(frozen=True)
class CourseVersion:
    course_id: uuid.UUID
    version: int
    title: str
    required_lesson_ids: frozenset[uuid.UUID]
    lesson_ids: tuple[uuid.UUID, ...] = ()
    lesson_titles: Mapping[uuid.UUID, str] = field(default_factory=dict)
    rules: CompletionRules = CompletionRules()
    training_hours: int | None = None


class Requirement(StrEnum):
    REQUIRED_LESSON = "required_lesson"
    PRE_TEST = "pre_test"
    POST_TEST = "post_test"
    POST_TEST_SCORE = "post_test_score"
    PREREQUISITE = "prerequisite"


@dataclass(frozen=True)
class Missing:
    """One requirement of the version the learner has not met yet."""

    requirement: Requirement
    lesson_id: uuid.UUID | None = None
    course_id: uuid.UUID | None = None
    title: str | None = None
    min_score: float | None = None
    best_score: float | None = None


@dataclass(frozen=True)
class Progress:
    """What a learner has done in a course, whatever version they did it in."""

    lessons_done: frozenset[uuid.UUID] = frozenset()
    pre_test_taken: bool = False
    best_post_test: float | None = None
    completed_courses: frozenset[uuid.UUID] = frozenset()


def missing_for(
    course: CourseVersion,
    progress: Progress,
    course_titles: Mapping[uuid.UUID, str] | None = None,
) -> list[Missing]:
    """The version's requirements the learner has not met, in the order they are met."""
    rules, course_titles = course.rules, course_titles or {}
    missing = [
        Missing(Requirement.PREREQUISITE, course_id=c, title=course_titles.get(c))
        for c in rules.prerequisite_course_ids
        if c not in progress.completed_courses
    ]
    if rules.pre_test_before_lessons and not progress.pre_test_taken:
        missing.append(Missing(Requirement.PRE_TEST))
    order = course.lesson_ids or tuple(sorted(course.required_lesson_ids))
    missing += [
        Missing(Requirement.REQUIRED_LESSON, lesson_id=x, title=course.lesson_titles.get(x))
        for x in order
        if x in course.required_lesson_ids and x not in progress.lessons_done
    ]
    best = progress.best_post_test
    if best is None:
        missing.append(Missing(Requirement.POST_TEST, min_score=rules.min_post_test_score))
    elif rules.min_post_test_score is not None and best < rules.min_post_test_score:
        missing.append(
            Missing(
                Requirement.POST_TEST_SCORE, min_score=rules.min_post_test_score, best_score=best
            )
        )
    return missing
