"""How each refusal of the enrollment domain reaches a client."""

from __future__ import annotations

from servicekit.problems import Refusal, Refusals

from ..domain.errors import (
    AlreadyCompleted,
    AlreadyEnrolled,
    AlreadyRevoked,
    BulkJobTooLarge,
    CohortExists,
    DomainError,
    EnrollmentClosed,
    EnrollmentWindowClosed,
    LearnerExists,
    NotEnrolled,
    UnknownCertificate,
    UnknownCohort,
    UnknownCourse,
    UnknownLearner,
    UnknownVersion,
)

REFUSALS = Refusals(
    DomainError,
    {
        AlreadyEnrolled: Refusal(
            409, "already_enrolled", extra=lambda e: {"enrollment_id": str(e.enrollment_id)}
        ),
        # the registered learner's id only to a caller who may see that learner
        LearnerExists: Refusal(
            409,
            "learner_exists",
            extra=lambda e: {"learner_id": str(e.learner_id)},
            reveal=lambda e, principal: principal.may_see_learner(e.learner_id, e.village_code),
        ),
        UnknownCourse: Refusal(
            422, "unknown_course", field="course_id", detail="no published course has this id"
        ),
        UnknownLearner: Refusal(
            422, "unknown_learner", field="learner_id", detail="no learner has this id"
        ),
        UnknownCohort: Refusal(422, "unknown_cohort", field="cohort"),
        EnrollmentWindowClosed: Refusal(409, "enrollment_window_closed"),
        EnrollmentClosed: Refusal(409, "enrollment_closed"),
        CohortExists: Refusal(409, "cohort_exists"),
        BulkJobTooLarge: Refusal(422, "bulk_job_too_large", field="region_code"),
        UnknownVersion: Refusal(422, "unknown_version", field="version"),
        NotEnrolled: Refusal(422, "not_enrolled", field="learner_id"),
        AlreadyCompleted: Refusal(409, "enrollment_completed", field="learner_id"),
        UnknownCertificate: Refusal(404, "certificate_not_found", field="code"),
        AlreadyRevoked: Refusal(409, "certificate_revoked", field="code"),
    },
)
