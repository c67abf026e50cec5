"""Domain events -> public contract events: the one place the enrollment service translates."""

from __future__ import annotations

from functools import singledispatch

import lms_contracts as c

from ..domain import events as e


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
