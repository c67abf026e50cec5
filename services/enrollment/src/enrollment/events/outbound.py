"""Domain events -> public contract events: the one place the enrollment service translates."""

from __future__ import annotations

from functools import singledispatch

import lms_contracts as c

from ..domain import events as e
from ..store.queries import BULK_LEARNERS


@singledispatch
def to_contract(event: object) -> list[c.EventData]:
    raise TypeError(f"no contract for {type(event).__name__}")


@to_contract.register
def _(event: e.LearnerRegistered) -> list[c.EventData]:
    learner = event.learner
    assert learner.registered_at is not None
    return [
        c.LearnerRegistered(
            learner_id=learner.learner_id,
            full_name=learner.full_name,
            position=c.Position(learner.position.value),
            village_code=learner.village_code,
            registered_at=learner.registered_at,
        )
    ]


@to_contract.register
def _(event: e.LearnerMoved) -> list[c.EventData]:
    learner = event.learner
    return [
        c.LearnerUpdated(
            learner_id=learner.learner_id,
            full_name=learner.full_name,
            position=c.Position(learner.position.value),
            village_code=learner.village_code,
            previous_village_code=event.previous_village_code,
            updated_at=event.at,
        )
    ]


@to_contract.register
def _(event: e.ContactChanged) -> list[c.EventData]:
    learner = event.learner
    return [
        c.LearnerContactChanged(
            learner_id=learner.learner_id,
            full_name=learner.full_name,
            village_code=learner.village_code,
            phone=learner.phone,
            email=learner.email,
            changed_at=event.at,
        )
    ]


@to_contract.register
def _(event: e.ContactsViewed) -> list[c.EventData]:
    viewer = event.viewer
    return [
        c.LearnerContactsViewed(
            viewer=viewer.subject,
            viewer_role=viewer.role,
            viewer_region=viewer.region_code,
            route=viewer.route,
            learner_ids=list(event.learner_ids),
            viewed_at=event.at,
        )
    ]


@to_contract.register
def _(event: e.Enrolled) -> list[c.EventData]:
    enrollment, learner = event.enrollment, event.learner
    return [
        c.Enrolled(
            enrollment_id=enrollment.enrollment_id,
            learner_id=learner.learner_id,
            course_id=enrollment.course_id,
            course_version=enrollment.course_version,
            course_title=enrollment.course_title,
            village_code=learner.village_code,
            position=c.Position(learner.position.value),
            cohort=enrollment.cohort,
            enrolled_at=enrollment.enrolled_at,
        )
    ]


@to_contract.register
def _(event: e.Withdrawn) -> list[c.EventData]:
    enrollment = event.enrollment
    assert enrollment.withdrawn_at is not None
    return [
        c.Withdrawn(
            enrollment_id=enrollment.enrollment_id,
            learner_id=enrollment.learner_id,
            course_id=enrollment.course_id,
            course_title=enrollment.course_title,
            village_code=event.learner.village_code,
            reason=event.reason,
            withdrawn_at=enrollment.withdrawn_at,
        )
    ]


@to_contract.register
def _(event: e.VersionChanged) -> list[c.EventData]:
    enrollment = event.enrollment
    return [
        c.CourseVersionChanged(
            enrollment_id=enrollment.enrollment_id,
            learner_id=enrollment.learner_id,
            course_id=enrollment.course_id,
            course_title=enrollment.course_title,
            village_code=event.learner.village_code,
            from_version=event.from_version,
            course_version=event.to_version,
            move_number=event.move_number,
            changed_at=event.at,
        )
    ]


@to_contract.register
def _(event: e.CourseCompleted) -> list[c.EventData]:
    enrollment = event.enrollment
    assert enrollment.completed_at is not None
    return [
        c.CourseCompleted(
            enrollment_id=enrollment.enrollment_id,
            learner_id=enrollment.learner_id,
            course_id=enrollment.course_id,
            course_version=enrollment.course_version,
            village_code=event.learner.village_code,
            score=enrollment.post_test_score or 0.0,
            completed_at=enrollment.completed_at,
        )
    ]


@to_contract.register
def _(event: e.CertificateIssued) -> list[c.EventData]:
    enrollment = event.enrollment
    return [
        c.CertificateIssued(
            certificate_id=event.certificate_id,
            verification_code=event.verification_code,
            enrollment_id=enrollment.enrollment_id,
            learner_id=enrollment.learner_id,
            course_id=enrollment.course_id,
            course_title=enrollment.course_title,
            village_code=event.learner.village_code,
            score=enrollment.post_test_score or 0.0,
            issued_at=event.issued_at,
        )
    ]


@to_contract.register
def _(event: e.CertificateRevoked) -> list[c.EventData]:
    certificate = event.certificate
    assert certificate.revoked_at is not None and certificate.revoke_reason is not None
    return [
        c.CertificateRevoked(
            certificate_id=certificate.certificate_id,
            verification_code=certificate.verification_code,
            enrollment_id=certificate.enrollment_id,
            learner_id=certificate.learner_id,
            course_id=certificate.course_id,
            course_title=certificate.course_title,
            village_code=certificate.village_code,
            reason=certificate.revoke_reason,
            revoked_at=certificate.revoked_at,
        )
    ]


# Bulk enrollment writes its enrollments and their `enrolled` events in one set-based statement
# per chunk, so the envelope and payload are built by PostgreSQL here, beside their Python
# twin above; a test checks both produce the same contract (`test_bulk_events_match_contract`).
# Each learner picked also gets its row outcome (enrolled, or already enrolled) in `job_rows`.
ENROLLED_TYPE = c.Enrolled.event_type
BULK_ENROLL_CHUNK = f"""
WITH picked AS (
    SELECT learner_id, position, village_code FROM learners
    WHERE {BULK_LEARNERS}
      AND (village_code, learner_id) > (:after_village, CAST(:after_learner AS uuid))
    ORDER BY village_code, learner_id
    LIMIT :chunk
), inserted AS (
    INSERT INTO enrollments (enrollment_id, learner_id, course_id, course_version, course_title,
                             cohort, status, enrolled_at)
    SELECT gen_random_uuid(), learner_id, CAST(:course_id AS uuid), :course_version, :course_title,
           :cohort, 'enrolled', :now
    FROM picked
    ON CONFLICT (learner_id, course_id) WHERE status <> 'withdrawn' DO NOTHING
    RETURNING enrollment_id, learner_id
), events AS (
    SELECT gen_random_uuid() AS event_id, i.enrollment_id, p.learner_id, p.position, p.village_code
    FROM inserted i JOIN picked p USING (learner_id)
), published AS (
    INSERT INTO outbox (event_id, subject, event_type, payload, correlation_id)
    SELECT event_id, '{ENROLLED_TYPE}.' || village_code, '{ENROLLED_TYPE}',
           convert_to(json_build_object(
               'id', event_id, 'source', '/lms/enrollment', 'type', '{ENROLLED_TYPE}',
               'specversion', '1.0', 'time', CAST(:now_text AS text), 'datacontenttype', 'application/json',
               'minorversion', {c.Enrolled.minor_version}, 'correlationid', CAST(event_id AS text),
               'traceparent', '00-' || replace(CAST(event_id AS text), '-', '') || '-'
                   || left(replace(CAST(event_id AS text), '-', ''), 16) || '-01',
               'data', json_build_object(
                   'enrollment_id', enrollment_id, 'learner_id', learner_id,
                   'course_id', CAST(:course_id AS uuid), 'course_version', CAST(:course_version AS integer),
                   'course_title', CAST(:course_title AS text), 'village_code', village_code, 'position', position,
                   'cohort', CAST(:cohort AS text), 'enrolled_at', CAST(:now_text AS text)))::text, 'UTF8'),
           CAST(event_id AS text)
    FROM events
    RETURNING 1
), outcomes AS (
    INSERT INTO job_rows (job_id, row_number, outcome, learner_id)
    SELECT CAST(:job_id AS uuid),
           :row_offset + row_number() OVER (ORDER BY p.village_code, p.learner_id),
           CASE WHEN i.learner_id IS NULL THEN 'already_enrolled' ELSE 'enrolled' END,
           p.learner_id
    FROM picked p LEFT JOIN inserted i USING (learner_id)
    RETURNING 1
)
SELECT (SELECT count(*) FROM outcomes) AS picked,
       (SELECT count(*) FROM published) AS enrolled,
       last.village_code AS last_village, last.learner_id AS last_learner
FROM (SELECT 1) AS one
LEFT JOIN LATERAL (SELECT village_code, learner_id FROM picked
                   ORDER BY village_code DESC, learner_id DESC LIMIT 1) AS last ON true
"""
