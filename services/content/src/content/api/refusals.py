"""How each refusal of the content domain reaches a client."""

from servicekit.problems import Refusal, Refusals

from ..domain.errors import (
    CourseCodeTaken,
    CourseNotPublishable,
    CourseOverBudget,
    DomainError,
    InvalidLesson,
    InvalidRule,
    LessonNotInVersion,
    NotEnrolled,
    PreTestRequired,
    UnknownCourse,
    UnknownLesson,
    VersionImmutable,
)

REFUSALS = Refusals(
    DomainError,
    {
        UnknownCourse: Refusal(404, "unknown_course", "course_id", "no course has this id"),
        UnknownLesson: Refusal(
            404, "unknown_lesson", "lesson_id", "no lesson of this course has this id"
        ),
        LessonNotInVersion: Refusal(
            422,
            "lesson_not_in_version",
            "lesson_id",
            "the lesson is not part of the learner's course version",
        ),
        NotEnrolled: Refusal(403, "not_enrolled"),
        # names its own field: where in the outline the lesson is wrong
        InvalidLesson: Refusal(422, "invalid_lesson"),
        InvalidRule: Refusal(422, "invalid_completion_rule"),
        PreTestRequired: Refusal(
            409,
            "pre_test_required",
            "course_id",
            "this course counts lessons after its pre-test: take it first",
        ),
        CourseCodeTaken: Refusal(
            409,
            "course_code_taken",
            "code",
            "a course with code {code} exists",
            params=lambda exc: {"code": exc.code},
        ),
        VersionImmutable: Refusal(409, "version_published"),
        CourseNotPublishable: Refusal(422, "course_not_publishable"),
        CourseOverBudget: Refusal(
            422,
            "course_over_budget",
            extra=lambda exc: {
                "content_bytes": exc.content_bytes,
                "budget_bytes": exc.budget_bytes,
            },
        ),
    },
)
