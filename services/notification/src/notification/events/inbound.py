"""Contract events -> commands: the notification service's one subscription list.

Every learner event is activity (no reminder for a learner who keeps studying); enrollments,
results, certificates and withdrawals are also messages. The service publishes nothing, so
there is no ``outbound`` module.
"""

from __future__ import annotations

import uuid
from typing import Any

import lms_contracts as c
from servicekit.regions import timezone_of
from servicekit.service import Translator

from ..domain import commands
from ..domain.model import Kind, Notification


def notification(
    event: c.CloudEvent[Any],
    kind: Kind,
    learner_id: uuid.UUID,
    village_code: str,
    context: dict[str, Any],
) -> Notification:
    """The message an event is the reason for, in the learner's zone."""
    return Notification(
        event_id=event.id,
        event_type=event.type,
        kind=kind,
        learner_id=learner_id,
        occurred_at=event.time,
        context={"zone": timezone_of(village_code), **context},
    )


def learner_registered(event: c.CloudEvent[c.LearnerRegistered]) -> commands.RecordLearner:
    data = event.data
    return commands.RecordLearner(
        data.learner_id, data.village_code, data.full_name, data.registered_at
    )


def learner_updated(event: c.CloudEvent[c.LearnerUpdated]) -> commands.RecordLearner:
    data = event.data
    return commands.RecordLearner(
        data.learner_id, data.village_code, data.full_name, data.updated_at
    )


def contact_changed(event: c.CloudEvent[c.LearnerContactChanged]) -> commands.RecordContact:
    data = event.data
    return commands.RecordContact(
        data.learner_id, data.village_code, data.full_name, data.phone, data.email, data.changed_at
    )


def enrolled(event: c.CloudEvent[c.Enrolled]) -> list[Any]:
    data = event.data
    context = {"course_title": data.course_title, "starts_on": data.starts_on}
    welcome = notification(event, Kind.WELCOME, data.learner_id, data.village_code, context)
    return [
        commands.RecordEnrollment(
            data.enrollment_id,
            data.learner_id,
            data.village_code,
            data.course_id,
            data.course_title,
            data.starts_on,
            data.enrolled_at,
        ),
        commands.Notify(welcome, data.village_code),
    ]


def withdrawn(event: c.CloudEvent[c.Withdrawn]) -> list[Any]:
    data = event.data
    context = {"course_title": data.course_title, "reason": data.reason}
    notice = notification(event, Kind.WITHDRAWN, data.learner_id, data.village_code, context)
    return [
        commands.CloseEnrollment(
            data.enrollment_id, data.learner_id, "withdrawn", data.withdrawn_at
        ),
        commands.Notify(notice, data.village_code),
    ]


def graded(event: c.CloudEvent[c.Passed | c.Failed]) -> list[Any]:
    """Quizzes are activity only; pre- and post-tests also tell the learner the result."""
    data = event.data
    activity = commands.RecordActivity(data.learner_id, data.village_code, data.graded_at)
    if data.assessment_kind is c.AssessmentKind.QUIZ:
        return [activity]
    if data.assessment_kind is c.AssessmentKind.PRE_TEST:
        kind = Kind.PRE_TEST_RESULT
    else:
        kind = Kind.PASSED if isinstance(data, c.Passed) else Kind.FAILED
    context = {
        "score": data.score,
        "pass_score": data.pass_score,
        "attempt_number": data.attempt_number,
    }
    result = notification(event, kind, data.learner_id, data.village_code, context)
    return [activity, commands.NotifyGrade(result, data.village_code, data.course_id)]


def course_completed(event: c.CloudEvent[c.CourseCompleted]) -> list[Any]:
    data = event.data
    return [
        commands.CloseEnrollment(
            data.enrollment_id, data.learner_id, "completed", data.completed_at
        ),
        commands.RecordActivity(data.learner_id, data.village_code, data.completed_at),
    ]


def lesson_completed(event: c.CloudEvent[c.LessonCompleted]) -> commands.RecordActivity:
    data = event.data
    return commands.RecordActivity(data.learner_id, data.village_code, data.completed_at)


def certificate_issued(event: c.CloudEvent[c.CertificateIssued]) -> commands.NotifyCertificate:
    data = event.data
    context = {"course_title": data.course_title, "score": data.score}
    issued = notification(event, Kind.CERTIFICATE, data.learner_id, data.village_code, context)
    return commands.NotifyCertificate(issued, data.village_code, data.verification_code)


def certificate_revoked(event: c.CloudEvent[c.CertificateRevoked]) -> commands.Notify:
    data = event.data
    context = {
        "course_title": data.course_title,
        "verification_code": data.verification_code,
        "reason": data.reason,
    }
    revoked = notification(
        event, Kind.CERTIFICATE_REVOKED, data.learner_id, data.village_code, context
    )
    return commands.Notify(revoked, data.village_code)


def extension_granted(event: c.CloudEvent[c.ExtensionGranted]) -> commands.NotifyGrade:
    """More attempts or more time: told with the course's title, like a result."""
    data = event.data
    context = {
        "extra_attempts": data.extra_attempts,
        "extra_minutes": round(data.extra_seconds / 60),
        "reason": data.reason,
    }
    granted = notification(
        event, Kind.EXTENSION_GRANTED, data.learner_id, data.village_code, context
    )
    return commands.NotifyGrade(granted, data.village_code, data.course_id)


def course_version_changed(
    event: c.CloudEvent[c.CourseVersionChanged],
) -> commands.NotifyVersionChange:
    data = event.data
    context = {
        "course_title": data.course_title,
        "course_version": data.course_version,
        "from_version": data.from_version,
    }
    moved = notification(event, Kind.VERSION_CHANGED, data.learner_id, data.village_code, context)
    return commands.NotifyVersionChange(
        moved, data.village_code, data.enrollment_id, data.move_number
    )


INBOUND: dict[type[c.EventData], Translator] = {
    c.LearnerRegistered: learner_registered,
    c.LearnerUpdated: learner_updated,
    c.LearnerContactChanged: contact_changed,
    c.Enrolled: enrolled,
    c.Withdrawn: withdrawn,
    c.LessonCompleted: lesson_completed,
    c.Passed: graded,
    c.Failed: graded,
    c.CourseCompleted: course_completed,
    c.CertificateIssued: certificate_issued,
    c.CourseVersionChanged: course_version_changed,
    c.CertificateRevoked: certificate_revoked,
    c.ExtensionGranted: extension_granted,
}
