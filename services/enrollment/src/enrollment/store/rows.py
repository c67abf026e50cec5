"""Rows of the enrollment tables <-> domain objects, shared by the unit of work and the queries."""

from __future__ import annotations

import uuid
from typing import Any

from ..domain.commands import RegisterLearner
from ..domain.completion import CompletionRules
from ..domain.model import (
    BulkEnrollment,
    Cohort,
    CourseVersion,
    Enrollment,
    Learner,
    Position,
    VersionMove,
)


def learner_from_row(row: Any) -> Learner:
    return Learner(
        learner_id=row.learner_id,
        full_name=row.full_name,
        position=Position(row.position),
        village_code=row.village_code,
        phone=row.phone,
        email=row.email,
        nik_hash=row.nik_hash,
        registered_at=row.registered_at,
    )


def learner_values(learner: Learner) -> dict[str, Any]:
    return {
        "learner_id": learner.learner_id,
        "full_name": learner.full_name,
        "position": learner.position.value,
        "village_code": learner.village_code,
        "phone": learner.phone,
        "email": learner.email,
        "nik_hash": learner.nik_hash,
    }


def course_from_row(row: Any) -> CourseVersion:
    return CourseVersion(
        course_id=row.course_id,
        version=row.version,
        title=row.title,
        required_lesson_ids=frozenset(uuid.UUID(x) for x in row.required_lesson_ids),
        lesson_ids=tuple(uuid.UUID(x) for x in row.lesson_ids or ()),
        lesson_titles={uuid.UUID(k): v for k, v in row.lesson_titles.items()},
        rules=CompletionRules(
            pre_test_before_lessons=row.pre_test_before_lessons,
            min_post_test_score=row.min_post_test_score,
            prerequisite_course_ids=tuple(uuid.UUID(x) for x in row.prerequisite_course_ids),
        ),
        training_hours=row.training_hours,
    )


def course_values(course: CourseVersion) -> dict[str, Any]:
    return {
        "course_id": course.course_id,
        "version": course.version,
        "title": course.title,
        "required_lesson_ids": sorted(str(x) for x in course.required_lesson_ids),
        "lesson_ids": [str(x) for x in course.lesson_ids],
        "lesson_titles": {str(k): v for k, v in course.lesson_titles.items()},
        "pre_test_before_lessons": course.rules.pre_test_before_lessons,
        "min_post_test_score": course.rules.min_post_test_score,
        "prerequisite_course_ids": [str(x) for x in course.rules.prerequisite_course_ids],
        "training_hours": course.training_hours,
    }


def cohort_from_row(row: Any) -> Cohort:
    return Cohort(
        row.course_id,
        row.name,
        row.enrollment_opens_at,
        row.enrollment_closes_at,
        row.region_code,
    )


def registration_input(register: RegisterLearner) -> dict[str, Any]:
    """An import row's learner as kept in ``job_rows.input`` until the job reaches it (the
    NIK only as its keyed hash, as everywhere)."""
    return {
        "full_name": register.full_name,
        "position": register.position.value,
        "village_code": register.village_code,
        "phone": register.phone,
        "email": register.email,
        "nik_hash": register.nik_hash,
    }


def registration_from_input(values: dict[str, Any]) -> RegisterLearner:
    return RegisterLearner(
        full_name=values["full_name"],
        position=Position(values["position"]),
        village_code=values["village_code"],
        phone=values.get("phone"),
        email=values.get("email"),
        nik_hash=values.get("nik_hash"),
    )


def enrollment_values(enrollment: Enrollment) -> dict[str, Any]:
    return {
        "enrollment_id": enrollment.enrollment_id,
        "learner_id": enrollment.learner_id,
        "course_id": enrollment.course_id,
        "course_version": enrollment.course_version,
        "course_title": enrollment.course_title,
        "cohort": enrollment.cohort,
        "status": enrollment.status.value,
        "post_test_score": enrollment.post_test_score,
        "enrolled_at": enrollment.enrolled_at,
        "completed_at": enrollment.completed_at,
        "withdrawn_at": enrollment.withdrawn_at,
        "version_move": enrollment.version_move,
    }


def bulk_params(bulk: BulkEnrollment) -> dict[str, Any]:
    """A bulk job's plan as kept in ``jobs.params``."""
    return {
        "course_id": str(bulk.course_id),
        "course_version": bulk.course_version,
        "course_title": bulk.course_title,
        "region_code": bulk.region_code,
        "positions": [p.value for p in bulk.positions],
        "cohort": bulk.cohort,
    }


def bulk_from_params(params: dict[str, Any]) -> BulkEnrollment:
    return BulkEnrollment(
        uuid.UUID(params["course_id"]),
        params["course_version"],
        params["course_title"],
        params["region_code"],
        tuple(Position(p) for p in params["positions"]),
        params.get("cohort"),
    )


def move_params(move: VersionMove) -> dict[str, Any]:
    """A version-move job's plan as kept in ``jobs.params``."""
    return {
        "course_id": str(move.course_id),
        "course_version": move.course_version,
        "cohort": move.cohort,
    }


def move_from_params(params: dict[str, Any]) -> VersionMove:
    return VersionMove(uuid.UUID(params["course_id"]), params["course_version"], params["cohort"])
