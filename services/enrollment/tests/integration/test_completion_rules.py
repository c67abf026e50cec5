"""A version's completion rules decide the certificate, and the enrollment tells its learner
what is still missing, on real PostgreSQL and NATS."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from nats.js import JetStreamContext

import lms_contracts as c
from servicekit.testing.services import RunningService, running_service
from servicekit.testing.waiting import eventually

from .test_enrollment_api import TOWUA, events_of, publish, register

pytestmark = pytest.mark.integration
LESSONS = [uuid.uuid4(), uuid.uuid4()]


@pytest.fixture
async def enrollment(
    database_url: str, nats_url: str, jetstream: JetStreamContext
) -> AsyncIterator[RunningService]:
    async with running_service("enrollment", database_url, nats_url) as service:
        yield service


def graded(kind: c.AssessmentKind, learner_id: uuid.UUID, course_id: uuid.UUID, score: float):
    return c.Passed(
        attempt_id=uuid.uuid4(),
        assessment_id=uuid.uuid4(),
        assessment_kind=kind,
        learner_id=learner_id,
        course_id=course_id,
        village_code=TOWUA,
        score=score,
        pass_score=70,
        attempt_number=1,
        graded_at=datetime.now(UTC),
    )


async def test_a_score_below_the_versions_minimum_is_named_and_a_better_one_certifies(
    enrollment: RunningService, jetstream: JetStreamContext
) -> None:
    course_id = uuid.uuid4()
    await publish(
        jetstream,
        c.CoursePublished(
            course_id=course_id,
            course_version=1,
            code="BUMDES-01",
            title="Pengelolaan BUMDes",
            lesson_ids=LESSONS,
            required_lesson_ids=LESSONS,
            published_at=datetime.now(UTC),
            lessons=[
                c.PublishedLesson(lesson_id=LESSONS[0], title="Dasar BUMDes"),
                c.PublishedLesson(lesson_id=LESSONS[1], title="Laporan Keuangan BUMDes"),
            ],
            min_post_test_score=80,
            training_hours=16,
        ),
    )
    admin = enrollment.auth("admin")
    await eventually(
        lambda: enrollment.client.get("/v1/catalog", headers=admin), lambda r: len(r.json()) == 1
    )
    learner = await register(enrollment, phone=None, email=None)
    learner_id = uuid.UUID(learner["learner_id"])
    enrolled = await enrollment.client.post(
        "/v1/enrollments",
        json={"learner_id": str(learner_id), "course_id": str(course_id)},
        headers=admin,
    )
    url = f"/v1/enrollments/{enrolled.json()['enrollment_id']}"
    me = enrollment.auth("learner", learner_id=learner_id)
    fresh = (await enrollment.client.get(url, headers=me)).json()["completion"]
    assert fresh["missing_lessons"] == 2 and fresh["complete"] is False
    assert fresh["explanation"] == (
        'Materi wajib yang belum selesai (2): "Dasar BUMDes", "Laporan Keuangan BUMDes". '
        "Lulus post-test dengan nilai minimal 80."
    )
    now = datetime.now(UTC)
    for lesson in LESSONS:
        await publish(
            jetstream,
            c.LessonCompleted(
                learner_id=learner_id,
                course_id=course_id,
                course_version=1,
                lesson_id=lesson,
                village_code=TOWUA,
                completed_at=now,
                recorded_at=now,
            ),
        )
    await publish(jetstream, graded(c.AssessmentKind.POST_TEST, learner_id, course_id, 75))
    short = await eventually(
        lambda: enrollment.client.get(url, headers=me),
        lambda r: r.json()["post_test_score"] == 75,
    )
    assert short.json()["status"] == "in_progress"
    assert short.json()["completion"]["missing"] == [
        {
            "requirement": "post_test_score",
            "lesson_id": None,
            "course_id": None,
            "title": None,
            "min_score": 80.0,
            "best_score": 75.0,
        }
    ]
    assert short.json()["completion"]["explanation"] == (
        "Nilai post-test minimal 80; nilai terbaik Anda 75."
    )
    assert await events_of(jetstream, c.CertificateIssued.event_type) == []
    await publish(jetstream, graded(c.AssessmentKind.POST_TEST, learner_id, course_id, 85))
    done = await eventually(
        lambda: enrollment.client.get(url, headers=me), lambda r: r.json()["status"] == "completed"
    )
    assert done.json()["completion"] == {
        "complete": True,
        "missing_lessons": 0,
        "missing": [],
        "explanation": "Semua syarat kelulusan terpenuhi.",
    }
