"""Access by enrollment (learnt from real enrolled/withdrawn events) and idempotent progress."""

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from nats.js import JetStreamContext

import lms_contracts as c
from servicekit.testing.services import RunningService
from servicekit.testing.waiting import eventually

from .conftest import TOWUA, create_course, enroll, events_of, publish, publish_course

pytestmark = pytest.mark.integration


async def test_only_enrolled_learners_read_lessons_and_a_withdrawal_closes_the_door(
    content: RunningService, jetstream: JetStreamContext
) -> None:
    course = await publish_course(content, (await create_course(content))["course_id"])
    course_id, lesson = course["course_id"], course["modules"][0]["lessons"][0]
    stranger = content.auth("learner", learner_id=uuid.uuid4())
    outline = await content.client.get(f"/v1/courses/{course_id}", headers=stranger)
    assert outline.status_code == 200 and outline.json()["modules"][0]["lessons"][0]["body"] is None
    path = f"/v1/courses/{course_id}/lessons/{lesson['lesson_id']}"
    refused = await content.client.get(path, headers=stranger)
    assert refused.status_code == 403 and refused.json()["code"] == "not_enrolled"
    supervisor = content.auth("supervisor", region_code="74")
    assert (await content.client.get(path, headers=supervisor)).status_code == 403

    learner_id, me, event = await enroll(jetstream, content, course)
    read = await content.client.get(path, headers=me)
    assert read.status_code == 200 and read.json()["body"] == "Isi pelajaran 1."
    assert (await content.client.get(path, headers=content.auth("instructor"))).status_code == 200

    await publish(
        jetstream,
        c.Withdrawn(
            enrollment_id=event.enrollment_id,
            learner_id=learner_id,
            course_id=uuid.UUID(course_id),
            course_title=course["title"],
            village_code=TOWUA,
            withdrawn_at=datetime.now(UTC),
        ),
    )
    await eventually(lambda: content.client.get(path, headers=me), lambda r: r.status_code == 403)
    progress = await content.client.post(
        "/v1/progress", json={"course_id": course_id, "lesson_id": lesson["lesson_id"]}, headers=me
    )
    assert progress.status_code == 403 and progress.json()["code"] == "not_enrolled"


async def test_progress_is_recorded_once_and_lesson_completed_is_emitted_once(
    content: RunningService, jetstream: JetStreamContext
) -> None:
    course = await publish_course(content, (await create_course(content))["course_id"])
    learner_id, me, _ = await enroll(jetstream, content, course)
    body = {"course_id": course["course_id"], "lesson_id": course["lesson_ids"][0]}

    first = await content.client.post("/v1/progress", json=body, headers=me)
    assert first.status_code == 201, first.text
    assert first.json()["recorded"] is True and first.json()["learner_id"] == str(learner_id)
    repeats = await asyncio.gather(
        *(content.client.post("/v1/progress", json=body, headers=me) for _ in range(5))
    )
    assert {r.status_code for r in repeats} == {200}
    assert {r.json()["completed_at"] for r in repeats} == {first.json()["completed_at"]}
    assert not any(r.json()["recorded"] for r in repeats)

    completed = await eventually(
        lambda: events_of(jetstream, "lms.content.lesson-completed.v1"), lambda f: len(f) == 1
    )
    data = completed[0].data
    assert (data.learner_id, str(data.lesson_id), data.village_code) == (
        learner_id,
        body["lesson_id"],
        TOWUA,
    )
    assert data.offline is False and data.course_version == 1


async def test_progress_refuses_unknown_courses_lessons_and_tokens_without_a_learner(
    content: RunningService, jetstream: JetStreamContext
) -> None:
    course = await publish_course(content, (await create_course(content))["course_id"])
    _, me, _ = await enroll(jetstream, content, course)
    cases = [
        (
            {"course_id": str(uuid.uuid4()), "lesson_id": course["lesson_ids"][0]},
            me,
            404,
            "course_id",
        ),
        ({"course_id": course["course_id"], "lesson_id": str(uuid.uuid4())}, me, 404, "lesson_id"),
        ({"course_id": course["course_id"], "lesson_id": "not-a-uuid"}, me, 422, "lesson_id"),
        ({"course_id": course["course_id"]}, me, 422, "lesson_id"),
    ]
    for body, headers, status, field in cases:
        response = await content.client.post("/v1/progress", json=body, headers=headers)
        assert response.status_code == status, (body, response.text)
        assert [e["field"] for e in response.json()["errors"]] == [field]
    admin = await content.client.post(
        "/v1/progress",
        json={"course_id": course["course_id"], "lesson_id": course["lesson_ids"][0]},
        headers=content.auth("admin"),
    )
    assert admin.status_code == 403
