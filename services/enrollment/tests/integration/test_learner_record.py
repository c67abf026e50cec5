"""What a gateway shows of a learner's enrollment: the same lesson count in the list, the GET
and the POST, and the certificate's code and links from the deployment's public address."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from nats.js import JetStreamContext

import lms_contracts as c
from servicekit.testing.services import RunningService, running_service
from servicekit.testing.waiting import eventually

from .test_enrollment_api import TOWUA, publish, published_course, register

pytestmark = pytest.mark.integration
PUBLIC = "https://lms.example.go.id"


@pytest.fixture
async def enrollment(
    database_url: str, nats_url: str, jetstream: JetStreamContext
) -> AsyncIterator[RunningService]:
    async with running_service(
        "enrollment", database_url, nats_url, public_base_url=PUBLIC
    ) as service:
        yield service


def lesson(learner_id: uuid.UUID, course: c.CoursePublished, lesson_id: uuid.UUID):
    now = datetime.now(UTC)
    return c.LessonCompleted(
        learner_id=learner_id,
        course_id=course.course_id,
        course_version=1,
        lesson_id=lesson_id,
        village_code=TOWUA,
        completed_at=now,
        recorded_at=now,
    )


async def test_list_get_and_post_agree_and_carry_the_certificate_links(
    enrollment: RunningService, jetstream: JetStreamContext
) -> None:
    course = await published_course(jetstream, enrollment, lessons=3)
    learner = await register(enrollment, phone=None, email=None)
    learner_id = uuid.UUID(learner["learner_id"])
    admin = enrollment.auth("admin")
    body = {"learner_id": str(learner_id), "course_id": str(course.course_id)}
    first = (await enrollment.client.post("/v1/enrollments", json=body, headers=admin)).json()
    for lesson_id in course.lesson_ids[:2]:
        await publish(jetstream, lesson(learner_id, course, lesson_id))
    url = f"/v1/enrollments/{first['enrollment_id']}"
    await eventually(
        lambda: enrollment.client.get(url, headers=admin),
        lambda r: r.json()["lessons_completed"] == 2,
    )
    await enrollment.client.delete(url, headers=admin)
    again = await enrollment.client.post("/v1/enrollments", json=body, headers=admin)
    assert again.status_code == 201 and again.json()["lessons_completed"] == 2
    url = f"/v1/enrollments/{again.json()['enrollment_id']}"
    listed = await enrollment.client.get(f"/v1/enrollments?learner_id={learner_id}", headers=admin)
    counts = {x["enrollment_id"]: x["lessons_completed"] for x in listed.json()["items"]}
    assert counts == {first["enrollment_id"]: 2, again.json()["enrollment_id"]: 2}
    assert (await enrollment.client.get(url, headers=admin)).json()["certificate"] is None

    await publish(jetstream, lesson(learner_id, course, course.lesson_ids[2]))
    await publish(
        jetstream,
        c.Passed(
            attempt_id=uuid.uuid4(),
            assessment_id=uuid.uuid4(),
            assessment_kind=c.AssessmentKind.POST_TEST,
            learner_id=learner_id,
            course_id=course.course_id,
            village_code=TOWUA,
            score=88,
            pass_score=70,
            attempt_number=1,
            graded_at=datetime.now(UTC),
        ),
    )
    done = await eventually(
        lambda: enrollment.client.get(url, headers=admin),
        lambda r: r.json()["status"] == "completed",
    )
    certificate = done.json()["certificate"]
    code = certificate["verification_code"]
    assert certificate | {"issued_at": None} == {
        "verification_code": code,
        "verify_url": f"{PUBLIC}/v1/certificates/{code}",
        "pdf_url": f"{PUBLIC}/v1/certificates/{code}/pdf",
        "issued_at": None,
        "valid": True,
    }
    listed = await enrollment.client.get(f"/v1/enrollments?learner_id={learner_id}", headers=admin)
    shown = next(x for x in listed.json()["items"] if x["status"] == "completed")
    assert (shown["certificate"], shown["lessons_completed"]) == (certificate, 3)
