"""A learner moved to another course version while a post-test attempt is open: the
submission is refused, naming the lesson the new version adds, until that lesson is done."""

import uuid
from datetime import UTC, datetime

import pytest
from nats.js import JetStreamContext

import lms_contracts as c
from servicekit.testing.services import RunningService
from servicekit.testing.waiting import eventually

from .conftest import (
    TOWUA,
    answers_from_key,
    assessment_body,
    course_published,
    create_assessment,
    enroll,
    events_of,
    lesson_completed,
    publish,
    start,
)

pytestmark = pytest.mark.integration
NEW_LESSON = "Perubahan Permendagri 2027"


async def test_a_move_during_an_open_post_test_holds_its_grade_until_the_new_lesson(
    assessment: RunningService, jetstream: JetStreamContext
) -> None:
    course_id, lessons, added = uuid.uuid4(), [uuid.uuid4(), uuid.uuid4()], uuid.uuid4()
    post = await create_assessment(assessment, assessment_body(course_id, "post_test"))
    version_2 = course_published(course_id, [*lessons, added]).model_copy(
        update={
            "course_version": 2,
            "lessons": [
                c.PublishedLesson(lesson_id=x, title=f"Materi {i}") for i, x in enumerate(lessons)
            ]
            + [c.PublishedLesson(lesson_id=added, title=NEW_LESSON)],
        }
    )
    await publish(jetstream, course_published(course_id, lessons))
    await publish(jetstream, version_2)
    learner_id, me, enrolled = await enroll(assessment, jetstream, course_id, post["assessment_id"])
    for lesson in lessons:
        await publish(jetstream, lesson_completed(learner_id, course_id, lesson))
    url = f"/v1/assessments/{post['assessment_id']}"
    await eventually(
        lambda: assessment.client.get(url, headers=me), lambda r: r.json()["available"]
    )
    attempt = await start(assessment, post["assessment_id"], me)

    await publish(
        jetstream,
        c.CourseVersionChanged(
            enrollment_id=enrolled.enrollment_id,
            learner_id=learner_id,
            course_id=course_id,
            course_title=enrolled.course_title,
            village_code=TOWUA,
            from_version=1,
            course_version=2,
            move_number=1,
            changed_at=datetime.now(UTC),
        ),
    )
    summary = await eventually(
        lambda: assessment.client.get(url, headers=me), lambda r: not r.json()["available"]
    )
    assert NEW_LESSON in summary.json()["unavailable_reason"]
    answers = answers_from_key(post, attempt["questions"])
    submit = f"/v1/attempts/{attempt['attempt_id']}/submit"
    refused = await assessment.client.post(submit, json={"answers": answers}, headers=me)
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert (problem["code"], problem["missing_lessons"]) == ("post_test_locked", 1)
    assert problem["missing"] == [{"lesson_id": str(added), "title": NEW_LESSON}]
    assert problem["explanation"].startswith("Post-test dibuka setelah semua materi wajib")
    assert await events_of(jetstream, c.Passed.event_type) == []

    await publish(jetstream, lesson_completed(learner_id, course_id, added))
    graded = await eventually(
        lambda: assessment.client.post(submit, json={"answers": answers}, headers=me),
        lambda r: r.status_code == 200,
    )
    assert graded.json()["passed"] is True
