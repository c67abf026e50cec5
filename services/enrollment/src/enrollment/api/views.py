"""Domain objects and rows -> what the enrollment API answers."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Row

from servicekit.auth import Principal, Role
from servicekit.i18n import position_name
from servicekit.settings import ServiceSettings

from ..domain.completion import Missing, Requirement
from ..domain.model import Cohort, EnrollmentStatus, JobKind, JobState, Learner, Outcome
from .explanations import explain, withdrawn
from .schemas import (
    CertificateLinkOut,
    CohortOut,
    CompletionOut,
    CourseOut,
    EnrollmentOut,
    JobOut,
    LearnerOut,
    MissingOut,
)


def may_see_contact(principal: Principal, learner_id: uuid.UUID) -> bool:
    """Contact details are for the learner themself and admins: not even a supervisor of the
    region reads (or overwrites) them. An admin's sight of them is logged (``access``)."""
    return principal.has(Role.ADMIN) or principal.learner_id == learner_id


def learner_out(learner: Learner, principal: Principal) -> LearnerOut:
    show_contact = may_see_contact(principal, learner.learner_id)
    return LearnerOut(
        learner_id=learner.learner_id,
        full_name=learner.full_name,
        position=learner.position,
        position_name=position_name(learner.position),
        village_code=learner.village_code,
        registered_at=learner.registered_at,
        phone=learner.phone if show_contact else None,
        email=learner.email if show_contact else None,
    )


def enrollment_out(row: Any, lessons: int, settings: ServiceSettings) -> EnrollmentOut:
    """A row of ``queries.enrollment`` (or the list's): the enrollment and its certificate."""
    return EnrollmentOut(
        enrollment_id=row.enrollment_id,
        learner_id=row.learner_id,
        course_id=row.course_id,
        course_version=row.course_version,
        course_title=row.course_title,
        cohort=row.cohort,
        status=EnrollmentStatus(row.status),
        post_test_score=row.post_test_score,
        lessons_completed=lessons,
        enrolled_at=row.enrolled_at,
        completed_at=row.completed_at,
        withdrawn_at=row.withdrawn_at,
        certificate=certificate_link(row, settings),
    )


def certificate_link(row: Any, settings: ServiceSettings) -> CertificateLinkOut | None:
    code = row.verification_code
    if code is None:
        return None
    return CertificateLinkOut(
        verification_code=code,
        verify_url=settings.certificate_url(code),
        pdf_url=settings.certificate_url(code, pdf=True),
        issued_at=row.certificate_issued_at,
        valid=not row.certificate_revoked,
    )


def completion_out(status: EnrollmentStatus, missing: list[Missing] | None) -> CompletionOut:
    """A completed enrollment asks nothing more, whatever its version asks now."""
    if status == EnrollmentStatus.COMPLETED or missing is None:
        missing = []
    lessons = sum(m.requirement == Requirement.REQUIRED_LESSON for m in missing)
    return CompletionOut(
        complete=status == EnrollmentStatus.COMPLETED,
        missing_lessons=lessons,
        missing=[MissingOut(**m.__dict__) for m in missing],
        explanation=explain(missing) if status != EnrollmentStatus.WITHDRAWN else withdrawn(),
    )


def cohort_out(cohort: Cohort | Row[Any]) -> CohortOut:
    """From the cohort just created, or from a row of ``cohorts`` (same names)."""
    return CohortOut(
        course_id=cohort.course_id,
        name=cohort.name,
        enrollment_opens_at=cohort.enrollment_opens_at,
        enrollment_closes_at=cohort.enrollment_closes_at,
        region_code=cohort.region_code,
    )


def course_out(row: Any) -> CourseOut:
    return CourseOut(
        course_id=row.course_id,
        version=row.version,
        code=row.code,
        title=row.title,
        required_lessons=len(row.required_lesson_ids),
        published_at=row.published_at,
    )


def job_out(row: Any) -> JobOut:
    processed = row.done + row.skipped + row.failed
    return JobOut(
        job_id=row.job_id,
        kind=JobKind(row.kind),
        state=JobState(row.state),
        region_code=row.region_code,
        total=row.total,
        done=row.done,
        skipped=row.skipped,
        failed=row.failed,
        processed=processed,
        progress=round(processed / row.total, 4) if row.total else 1.0,
        counts={Outcome(k): v for k, v in row.counts.items()},
        params=row.params,
        error=row.error,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
