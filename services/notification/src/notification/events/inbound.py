"""Contract events -> commands: the notification service's one subscription list.

The service publishes nothing, so there is no ``outbound`` module.
"""

from __future__ import annotations

from typing import Any

import lms_contracts as c
from servicekit.consumer import Subscription
from servicekit.database import Transaction
from servicekit.regions import timezone_of

from .. import usecases
from ..domain import commands
from ..domain.model import Kind, Notification
from ..notifier import Notifier
from ..store.repository import SqlUnitOfWork


def subscription(notifier: Notifier) -> Subscription:
    """What reacts to what; handlers close over the notifier (templates, channels, clock)."""

    def uow(tx: Transaction) -> SqlUnitOfWork:
        return SqlUnitOfWork(tx, notifier.default_preferences)

    async def send(
        tx: Transaction,
        event: c.CloudEvent[Any],
        kind: Kind,
        learner_id: Any,
        village_code: str,
        context: dict[str, Any],
    ) -> None:
        notification = Notification(
            event_id=event.id,
            event_type=event.type,
            kind=kind,
            learner_id=learner_id,
            occurred_at=event.time,
            context={"zone": timezone_of(village_code), **context},
        )
        await usecases.notify(
            commands.Notify(notification, village_code),
            uow(tx),
            notifier.renderer,
            notifier.configured,
            notifier.clock(),
        )

    async def on_learner_registered(tx: Transaction, event: c.CloudEvent[Any]) -> None:
        data: c.LearnerRegistered = event.data
        cmd = commands.RecordLearner(
            data.learner_id, data.village_code, data.full_name, data.registered_at
        )
        await usecases.record_learner(cmd, uow(tx))

    async def on_learner_updated(tx: Transaction, event: c.CloudEvent[Any]) -> None:
        data: c.LearnerUpdated = event.data
        cmd = commands.RecordLearner(
            data.learner_id, data.village_code, data.full_name, data.updated_at
        )
        await usecases.record_learner(cmd, uow(tx))

    async def on_contact_changed(tx: Transaction, event: c.CloudEvent[Any]) -> None:
        data: c.LearnerContactChanged = event.data
        cmd = commands.RecordContact(
            data.learner_id,
            data.village_code,
            data.full_name,
            data.phone,
            data.email,
            data.changed_at,
        )
        await usecases.record_contact(cmd, uow(tx))

    async def on_enrolled(tx: Transaction, event: c.CloudEvent[Any]) -> None:
        data: c.Enrolled = event.data
        cmd = commands.RecordEnrollment(
            data.enrollment_id,
            data.learner_id,
            data.village_code,
            data.course_id,
            data.course_title,
            data.starts_on,
            data.enrolled_at,
        )
        await usecases.record_enrollment(cmd, uow(tx))
        context = {"course_title": data.course_title, "starts_on": data.starts_on}
        await send(tx, event, Kind.WELCOME, data.learner_id, data.village_code, context)

    async def on_withdrawn(tx: Transaction, event: c.CloudEvent[Any]) -> None:
        data: c.Withdrawn = event.data
        cmd = commands.CloseEnrollment(
            data.enrollment_id, data.learner_id, "withdrawn", data.withdrawn_at
        )
        await usecases.close_enrollment(cmd, uow(tx))
        context = {"course_title": data.course_title, "reason": data.reason}
        await send(tx, event, Kind.WITHDRAWN, data.learner_id, data.village_code, context)

    async def on_graded(tx: Transaction, event: c.CloudEvent[Any]) -> None:
        data: c.Passed | c.Failed = event.data
        activity = commands.RecordActivity(data.learner_id, data.village_code, data.graded_at)
        await usecases.record_activity(activity, uow(tx))
        if data.assessment_kind is c.AssessmentKind.QUIZ:
            return
        if data.assessment_kind is c.AssessmentKind.PRE_TEST:
            kind = Kind.PRE_TEST_RESULT
        else:
            kind = Kind.PASSED if isinstance(data, c.Passed) else Kind.FAILED
        # passed / failed carry no course title: take it from the enrollment we learnt
        title = await uow(tx).course_title(data.learner_id, data.course_id)
        context = {
            "course_title": title or "(judul kursus tidak tersedia)",
            "score": data.score,
            "pass_score": data.pass_score,
            "attempt_number": data.attempt_number,
        }
        await send(tx, event, kind, data.learner_id, data.village_code, context)

    async def on_course_completed(tx: Transaction, event: c.CloudEvent[Any]) -> None:
        data: c.CourseCompleted = event.data
        cmd = commands.CloseEnrollment(
            data.enrollment_id, data.learner_id, "completed", data.completed_at
        )
        await usecases.close_enrollment(cmd, uow(tx))
        activity = commands.RecordActivity(data.learner_id, data.village_code, data.completed_at)
        await usecases.record_activity(activity, uow(tx))

    async def on_lesson_completed(tx: Transaction, event: c.CloudEvent[Any]) -> None:
        """Studying counts as activity: no reminder for a learner who keeps going."""
        data: c.LessonCompleted = event.data
        activity = commands.RecordActivity(data.learner_id, data.village_code, data.completed_at)
        await usecases.record_activity(activity, uow(tx))

    async def on_certificate_issued(tx: Transaction, event: c.CloudEvent[Any]) -> None:
        data: c.CertificateIssued = event.data
        context = {
            "course_title": data.course_title,
            "score": data.score,
            "verification_code": data.verification_code,
            "verification_url": notifier.verification_url(data.verification_code),
        }
        await send(tx, event, Kind.CERTIFICATE, data.learner_id, data.village_code, context)

    return Subscription(
        handlers={
            c.LearnerRegistered: on_learner_registered,
            c.LearnerUpdated: on_learner_updated,
            c.LearnerContactChanged: on_contact_changed,
            c.Enrolled: on_enrolled,
            c.Withdrawn: on_withdrawn,
            c.LessonCompleted: on_lesson_completed,
            c.Passed: on_graded,
            c.Failed: on_graded,
            c.CourseCompleted: on_course_completed,
            c.CertificateIssued: on_certificate_issued,
        }
    )
