"""A learner is told of their course's latest version move once, however the moves arrive,
and of a revoked certificate, from real events on JetStream."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from nats.js import JetStreamContext

import lms_contracts as c
from servicekit.testing.services import RunningService, running_service
from servicekit.testing.waiting import eventually

from .events import enrolled, now, publish, registered

pytestmark = pytest.mark.integration


@pytest.fixture
async def notification(
    database_url: str, nats_url: str, jetstream: JetStreamContext
) -> AsyncIterator[RunningService]:
    async with running_service(
        "notification", database_url, nats_url, run_scheduler=False
    ) as service:
        yield service


def moved(enrollment: c.Enrolled, number: int, version: int) -> c.CourseVersionChanged:
    return c.CourseVersionChanged(
        enrollment_id=enrollment.enrollment_id,
        learner_id=enrollment.learner_id,
        course_id=enrollment.course_id,
        course_title=enrollment.course_title,
        village_code=enrollment.village_code,
        from_version=version - 1,
        course_version=version,
        move_number=number,
        changed_at=now(),
    )


async def test_only_the_latest_move_is_told_and_a_revocation_is_explained(
    notification: RunningService, jetstream: JetStreamContext
) -> None:
    learner_id = uuid.uuid4()
    enrollment = enrolled(learner_id)
    await publish(jetstream, registered(learner_id))
    await publish(jetstream, enrollment)
    await publish(jetstream, moved(enrollment, 2, 3), again=True)  # the later move first, twice
    await publish(jetstream, moved(enrollment, 1, 2))  # an older one, late
    await publish(
        jetstream,
        c.CertificateRevoked(
            certificate_id=uuid.uuid4(),
            verification_code="YQTRTZUBPW",
            enrollment_id=enrollment.enrollment_id,
            learner_id=learner_id,
            course_id=enrollment.course_id,
            course_title=enrollment.course_title,
            village_code=enrollment.village_code,
            reason="Peserta tidak mengikuti ujian sendiri",
            revoked_at=now(),
        ),
    )
    me = notification.auth("learner", learner_id=learner_id)
    await eventually(
        lambda: jetstream.consumer_info("LMS", "notification"),
        lambda info: info.num_pending == 0 and info.num_ack_pending == 0,
    )
    items = (await notification.client.get("/v1/inbox", headers=me)).json()["items"]
    titles = sorted(m["title"] for m in items)
    course = enrollment.course_title
    assert titles == sorted(
        [
            f"Selamat datang di kursus {course}",
            f"Kursus {course} kini versi 3",
            f"Sertifikat {course} dicabut",
        ]
    )
    revoked = next(m for m in items if m["title"].endswith("dicabut"))
    assert "YQTRTZUBPW" in revoked["body"] and "tidak mengikuti ujian sendiri" in revoked["body"]
