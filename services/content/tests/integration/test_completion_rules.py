"""Completion rules over HTTP on real PostgreSQL and NATS: authored, refused when wrong,
published, and the pre-test that opens a version's lessons learnt from real events."""

import uuid
from datetime import UTC, datetime

import pytest
from nats.js import JetStreamContext

import lms_contracts as c
from servicekit.testing.services import RunningService
from servicekit.testing.waiting import eventually

from .conftest import TOWUA, course_body, create_course, enroll, events_of, publish, publish_course

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        ({"min_post_test_score": 101}, "completion_rules.min_post_test_score"),
        ({"prerequisite_course_ids": ["bukan-uuid"]}, "completion_rules.prerequisite_course_ids.0"),
        (
            {"prerequisite_course_ids": [str(uuid.uuid4())]},
            "completion_rules.prerequisite_course_ids.0",
        ),
        ({"pre_test_first": True}, "completion_rules.pre_test_first"),
    ],
)
async def test_wrong_rules_get_a_problem_naming_the_field(
    content: RunningService, rules: dict, field: str
) -> None:
    response = await content.client.post(
        "/v1/courses",
        json=course_body() | {"completion_rules": rules},
        headers=content.auth("instructor"),
    )
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]


async def test_rules_are_published_and_the_pre_test_opens_the_lessons(
    content: RunningService, jetstream: JetStreamContext
) -> None:
    basic = await create_course(content, course_body("DASAR-01"))
    body = course_body("LANJUT-01") | {
        "training_hours": 24,
        "completion_rules": {
            "pre_test_before_lessons": True,
            "min_post_test_score": 75,
            "prerequisite_course_ids": [basic["course_id"]],
        },
    }
    course = await publish_course(content, (await create_course(content, body))["course_id"])
    assert course["completion_rules"]["prerequisite_course_ids"] == [basic["course_id"]]
    assert course["training_hours"] == 24
    published = await eventually(
        lambda: events_of(jetstream, c.CoursePublished.event_type), lambda found: len(found) == 1
    )
    data = published[0].data
    assert (data.pre_test_before_lessons, data.min_post_test_score) == (True, 75)
    assert [x.title for x in data.lessons] == ["Pelajaran 1", "Pelajaran 2"]
    assert published[0].minorversion == 1

    learner_id, me, _ = await enroll(jetstream, content, course)
    lesson = {"course_id": course["course_id"], "lesson_id": course["lesson_ids"][0]}
    refused = await content.client.post("/v1/progress", json=lesson, headers=me)
    assert refused.status_code == 409, refused.text
    assert (refused.json()["code"], refused.json()["errors"][0]["field"]) == (
        "pre_test_required",
        "course_id",
    )
    await publish(
        jetstream,
        c.Failed(
            attempt_id=uuid.uuid4(),
            assessment_id=uuid.uuid4(),
            assessment_kind=c.AssessmentKind.PRE_TEST,
            learner_id=learner_id,
            course_id=uuid.UUID(course["course_id"]),
            village_code=TOWUA,
            score=30,
            pass_score=70,
            attempt_number=1,
            graded_at=datetime.now(UTC),
        ),
    )
    recorded = await eventually(
        lambda: content.client.post("/v1/progress", json=lesson, headers=me),
        lambda r: r.status_code == 201,
    )
    assert recorded.json()["lesson_id"] == lesson["lesson_id"]
