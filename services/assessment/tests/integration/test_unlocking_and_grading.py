"""Unlocking from real events, grading on the server, passed/failed on JetStream, and no answer
key in anything a learner receives."""

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
    assert_no_key,
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


async def test_post_test_opens_after_the_required_lessons_and_a_pass_is_published(
    assessment: RunningService, jetstream: JetStreamContext
) -> None:
    course_id, lessons = uuid.uuid4(), [uuid.uuid4(), uuid.uuid4()]
    pre = await create_assessment(assessment, assessment_body(course_id, "pre_test"))
    post = await create_assessment(assessment, assessment_body(course_id, "post_test"))
    assert post["questions"][0]["options"][0]["correct"] is True  # authors see the key

    stranger = assessment.auth("learner", learner_id=uuid.uuid4())
    refused = await assessment.client.post(
        f"/v1/assessments/{pre['assessment_id']}/attempts", headers=stranger
    )
    assert refused.status_code == 403 and refused.json()["code"] == "not_enrolled"

    await publish(jetstream, course_published(course_id, lessons))
    learner_id, me, enrollment = await enroll(
        assessment, jetstream, course_id, pre["assessment_id"]
    )

    pre_attempt = await start(assessment, pre["assessment_id"], me)
    locked = await assessment.client.post(
        f"/v1/assessments/{post['assessment_id']}/attempts", headers=me
    )
    assert locked.status_code == 409 and locked.json()["code"] == "post_test_locked"
    assert locked.json()["missing_lessons"] == 2
    summary = await assessment.client.get(f"/v1/assessments/{post['assessment_id']}", headers=me)
    assert summary.json()["available"] is False
    assert summary.json()["unavailable_reason"] == (
        "Post-test dibuka setelah semua materi wajib selesai. "
        "Materi wajib yang belum selesai (2): (tanpa judul), (tanpa judul)."
    )
    english = await assessment.client.get(
        f"/v1/assessments/{post['assessment_id']}", headers={**me, "Accept-Language": "en"}
    )
    assert english.json()["unavailable_reason"].startswith("The post-test opens")
    assert_no_key(summary)

    wrong = answers_from_key(pre, pre_attempt["questions"], right=False)
    failed = await assessment.client.post(
        f"/v1/attempts/{pre_attempt['attempt_id']}/submit", json={"answers": wrong}, headers=me
    )
    assert failed.status_code == 200, failed.text
    assert failed.json()["score"] == 0 and failed.json()["passed"] is False
    assert_no_key(failed)

    for lesson_id in lessons:
        await publish(jetstream, lesson_completed(learner_id, course_id, lesson_id))
    opened = await eventually(
        lambda: assessment.client.post(
            f"/v1/assessments/{post['assessment_id']}/attempts", headers=me
        ),
        lambda r: r.status_code == 201,
    )
    assert_no_key(opened)
    paper = opened.json()
    assert paper["attempt_number"] == 1 and paper["expires_at"] is not None
    assert sorted(q["kind"] for q in paper["questions"]) == sorted(
        q["kind"] for q in post["questions"]
    )

    right = answers_from_key(post, paper["questions"])
    result = await assessment.client.post(
        f"/v1/attempts/{paper['attempt_id']}/submit", json={"answers": right}, headers=me
    )
    assert result.status_code == 200, result.text
    assert result.json()["score"] == 100 and result.json()["passed"] is True
    assert result.json()["pass_score"] == 70
    assert_no_key(result)

    passed = await eventually(
        lambda: events_of(jetstream, "lms.assessment.passed.v1"), lambda found: len(found) == 1
    )
    data = passed[0].data
    assert (data.learner_id, data.course_id, data.assessment_kind.value) == (
        learner_id,
        course_id,
        "post_test",
    )
    assert (data.score, data.pass_score, data.attempt_number, data.village_code) == (
        100,
        70,
        1,
        TOWUA,
    )
    baseline = await eventually(
        lambda: events_of(jetstream, "lms.assessment.failed.v1"), lambda found: len(found) == 1
    )
    assert baseline[0].data.assessment_kind.value == "pre_test" and baseline[0].data.score == 0

    for path in (
        f"/v1/attempts/{paper['attempt_id']}",
        "/v1/attempts",
        f"/v1/assessments/{pre['assessment_id']}",
        "/v1/assessments",
    ):
        seen = await assessment.client.get(path, headers=me)
        assert seen.status_code == 200, seen.text
        assert_no_key(seen)

    await publish(
        jetstream,
        c.Withdrawn(
            enrollment_id=enrollment.enrollment_id,
            learner_id=learner_id,
            course_id=course_id,
            course_title=enrollment.course_title,
            village_code=TOWUA,
            withdrawn_at=datetime.now(UTC),
        ),
    )
    await eventually(
        lambda: assessment.client.post(
            f"/v1/assessments/{pre['assessment_id']}/attempts", headers=me
        ),
        lambda r: r.status_code == 403 and r.json()["code"] == "not_enrolled",
    )
