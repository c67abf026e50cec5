"""Contract events as the other services publish them, put on JetStream for real."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from nats.js import JetStreamContext

import lms_contracts as c

TOWUA = "74.01.01.2006"  # a village of Kabupaten Kolaka, Sulawesi Tenggara: WITA (UTC+8)


async def publish(
    js: JetStreamContext, data: c.EventData, *, again: bool = False
) -> c.CloudEvent[Any]:
    """Publish an event; ``again`` redelivers the same event past JetStream's de-duplication."""
    event = c.new_event(data)
    await js.publish(c.subject_of(data), event.to_json(), headers={"Nats-Msg-Id": str(event.id)})
    if again:
        await js.publish(
            c.subject_of(data), event.to_json(), headers={"Nats-Msg-Id": f"{event.id}-again"}
        )
    return event


def now() -> datetime:
    return datetime.now(UTC)


def registered(learner_id: uuid.UUID, name: str = "Wa Ode Sitti") -> c.LearnerRegistered:
    return c.LearnerRegistered(
        learner_id=learner_id,
        full_name=name,
        position=c.Position.SEKRETARIS_DESA,
        village_code=TOWUA,
        registered_at=now(),
    )


def contact(
    learner_id: uuid.UUID,
    phone: str | None = "+6281234567890",
    email: str | None = "sitti@example.id",
) -> c.LearnerContactChanged:
    return c.LearnerContactChanged(
        learner_id=learner_id,
        full_name="Wa Ode Sitti",
        village_code=TOWUA,
        phone=phone,
        email=email,
        changed_at=now(),
    )


def enrolled(
    learner_id: uuid.UUID, title: str = "Tata Kelola Keuangan Desa", **changes: Any
) -> c.Enrolled:
    values: dict[str, Any] = {
        "enrollment_id": uuid.uuid4(),
        "learner_id": learner_id,
        "course_id": uuid.uuid4(),
        "course_version": 1,
        "course_title": title,
        "village_code": TOWUA,
        "position": c.Position.SEKRETARIS_DESA,
        "starts_on": datetime(2026, 8, 17, 1, 0, tzinfo=UTC),
        "enrolled_at": now(),
    } | changes
    return c.Enrolled(**values)


def graded(
    enrollment: c.Enrolled, *, passed: bool, kind: c.AssessmentKind = c.AssessmentKind.POST_TEST
) -> c.Passed | c.Failed:
    cls = c.Passed if passed else c.Failed
    return cls(
        attempt_id=uuid.uuid4(),
        assessment_id=uuid.uuid4(),
        assessment_kind=kind,
        learner_id=enrollment.learner_id,
        course_id=enrollment.course_id,
        village_code=TOWUA,
        score=85.5 if passed else 40.0,
        pass_score=70.0,
        attempt_number=1,
        graded_at=now(),
    )


def certificate(enrollment: c.Enrolled, code: str = "ABCD234567") -> c.CertificateIssued:
    return c.CertificateIssued(
        certificate_id=uuid.uuid4(),
        verification_code=code,
        enrollment_id=enrollment.enrollment_id,
        learner_id=enrollment.learner_id,
        course_id=enrollment.course_id,
        course_title=enrollment.course_title,
        village_code=TOWUA,
        score=85.5,
        issued_at=now(),
    )


def withdrawn(enrollment: c.Enrolled) -> c.Withdrawn:
    return c.Withdrawn(
        enrollment_id=enrollment.enrollment_id,
        learner_id=enrollment.learner_id,
        course_id=enrollment.course_id,
        course_title=enrollment.course_title,
        village_code=TOWUA,
        reason="pindah tugas",
        withdrawn_at=now(),
    )
