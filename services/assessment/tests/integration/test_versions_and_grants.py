"""Assessment versions, grants and review over HTTP on real PostgreSQL and NATS: a corrected
post-test is the next version of the one post-test (never a second one doubling the attempts),
extra attempts and time come with a reason and an event, and answers are reviewed with the
correct ones once the last attempt is used."""

import uuid

import pytest
from nats.js import JetStreamContext

import lms_contracts as c
from servicekit.testing.services import RunningService
from servicekit.testing.waiting import eventually

from .conftest import (
    answers_from_key,
    assessment_body,
    course_published,
    create_assessment,
    enroll,
    events_of,
    publish,
    start,
)

pytestmark = pytest.mark.integration


async def test_a_corrected_post_test_is_its_next_version_and_the_limit_stays(
    assessment: RunningService, jetstream: JetStreamContext
) -> None:
    course_id = uuid.uuid4()
    await publish(jetstream, course_published(course_id, []))
    post = await create_assessment(assessment, assessment_body(course_id, max_attempts=2))
    beside = await assessment.client.post(
        "/v1/assessments",
        json=assessment_body(course_id, title="Post-test (koreksi)", questions=post_bank()),
        headers=assessment.auth("instructor"),
    )
    assert beside.status_code == 409
    assert (beside.json()["code"], beside.json()["errors"][0]["field"]) == (
        "post_test_exists",
        "course_id",
    )
    assert beside.json()["assessment_id"] == post["assessment_id"]

    _, me, _ = await enroll(assessment, jetstream, course_id, post["assessment_id"])
    first = await start(assessment, post["assessment_id"], me)
    url = f"/v1/assessments/{post['assessment_id']}"
    instructor = assessment.auth("instructor")
    corrected = assessment_body(course_id, title="Post-test (koreksi)", max_attempts=2)
    draft = await assessment.client.put(
        url, json=corrected | {"questions": post_bank()}, headers=instructor
    )
    assert (draft.status_code, draft.json()["version"], draft.json()["status"]) == (200, 2, "draft")
    summary = await assessment.client.get(url, headers=me)
    assert (summary.json()["version"], summary.json()["title"]) == (1, post["title"])
    published = await assessment.client.post(f"{url}/publish", headers=instructor)
    assert published.json()["status"] == "published"
    again = await assessment.client.post(f"{url}/publish", headers=instructor)
    assert (again.status_code, again.json()["code"]) == (409, "no_draft")

    graded = await assessment.client.post(
        f"/v1/attempts/{first['attempt_id']}/submit",
        json={"answers": answers_from_key(post, first["questions"])},
        headers=me,
    )
    assert (graded.json()["assessment_version"], graded.json()["score"]) == (1, 100.0)
    second = await start(assessment, post["assessment_id"], me)
    assert second["assessment_version"] == 2 and len(second["questions"]) == 1
    await assessment.client.post(
        f"/v1/attempts/{second['attempt_id']}/submit", json={"answers": []}, headers=me
    )
    used_up = await assessment.client.post(f"{url}/attempts", headers=me)
    assert (used_up.status_code, used_up.json()["max_attempts"]) == (409, 2)
    listed = await assessment.client.get(f"/v1/assessments?course_id={course_id}", headers=me)
    assert [x["kind"] for x in listed.json()["items"]] == ["post_test"]


def post_bank() -> list[dict]:
    return [{"kind": "true_false", "prompt": "Perdes ditetapkan bersama BPD.", "answer": True}]


async def test_grants_come_with_a_reason_and_an_event_and_never_on_a_finished_attempt(
    assessment: RunningService, jetstream: JetStreamContext
) -> None:
    course_id = uuid.uuid4()
    pre = await create_assessment(
        assessment, assessment_body(course_id, "pre_test", max_attempts=1)
    )
    learner_id, me, _ = await enroll(assessment, jetstream, course_id, pre["assessment_id"])
    attempt = await start(assessment, pre["assessment_id"], me)
    instructor = assessment.auth("instructor")
    more_time = {"extra_seconds": 600, "reason": "Listrik padam di desa"}
    extended = await assessment.client.post(
        f"/v1/attempts/{attempt['attempt_id']}/extensions", json=more_time, headers=instructor
    )
    assert extended.status_code == 201, extended.text
    assert extended.json()["expires_at"] > attempt["expires_at"]
    mine = await assessment.client.post(
        f"/v1/attempts/{attempt['attempt_id']}/extensions", json=more_time, headers=me
    )
    assert mine.status_code == 403
    await assessment.client.post(
        f"/v1/attempts/{attempt['attempt_id']}/submit", json={"answers": []}, headers=me
    )
    finished = await assessment.client.post(
        f"/v1/attempts/{attempt['attempt_id']}/extensions", json=more_time, headers=instructor
    )
    assert finished.status_code == 409
    assert (finished.json()["code"], finished.json()["errors"][0]["field"]) == (
        "attempt_finished",
        "attempt_id",
    )
    url = f"/v1/assessments/{pre['assessment_id']}"
    grant = {"learner_id": str(learner_id), "extra_attempts": 1, "reason": "Sakit saat ujian"}
    for wrong, field in (({"extra_attempts": 0}, "extra_attempts"), ({"reason": "-"}, "reason")):
        refused = await assessment.client.post(
            f"{url}/grants", json=grant | wrong, headers=instructor
        )
        assert (refused.status_code, refused.json()["errors"][0]["field"]) == (422, field)
    stranger = grant | {"learner_id": str(uuid.uuid4())}
    refused = await assessment.client.post(f"{url}/grants", json=stranger, headers=instructor)
    assert (refused.status_code, refused.json()["errors"][0]["field"]) == (422, "learner_id")
    granted = await assessment.client.post(f"{url}/grants", json=grant, headers=instructor)
    assert granted.status_code == 201
    summary = await assessment.client.get(url, headers=me)
    assert (summary.json()["attempts_allowed"], summary.json()["available"]) == (2, True)
    await start(assessment, pre["assessment_id"], me)
    published = await eventually(
        lambda: events_of(jetstream, c.ExtensionGranted.event_type), lambda f: len(f) == 2
    )
    assert sorted((e.data.extra_attempts, e.data.extra_seconds) for e in published) == [
        (0, 600),
        (1, 0),
    ]
    assert {e.data.reason for e in published} == {"Listrik padam di desa", "Sakit saat ujian"}


async def test_answers_are_reviewed_with_the_correct_ones_after_the_last_attempt(
    assessment: RunningService, jetstream: JetStreamContext
) -> None:
    course_id = uuid.uuid4()
    quiz = await create_assessment(assessment, assessment_body(course_id, "quiz", max_attempts=2))
    _, me, _ = await enroll(assessment, jetstream, course_id, quiz["assessment_id"])
    review = []
    for _ in range(2):
        attempt = await start(assessment, quiz["assessment_id"], me)
        wrong = answers_from_key(quiz, attempt["questions"], right=False)
        await assessment.client.post(
            f"/v1/attempts/{attempt['attempt_id']}/submit", json={"answers": wrong}, headers=me
        )
        review.append(
            await assessment.client.get(f"/v1/attempts/{attempt['attempt_id']}/review", headers=me)
        )
    assert (review[0].status_code, review[0].json()["code"]) == (409, "review_not_available")
    assert review[0].json()["errors"][0]["field"] == "attempt_id"
    assert review[1].status_code == 200, review[1].text
    questions = review[1].json()["questions"]
    assert len(questions) == 4 and not any(q["correct"] for q in questions)
    single = next(q for q in questions if q["kind"] == "single_choice")
    assert [o["text"] for o in single["options"] if o["correct"]] == ["Kepala desa bersama BPD"]
    assert any(o["chosen"] and not o["correct"] for o in single["options"])
    short = next(q for q in questions if q["kind"] == "short_answer")
    assert (short["given_text"], short["accepted_answers"]) == ("BUMDes", ["APBDes"])
    other = assessment.auth("learner", learner_id=uuid.uuid4())
    stranger = await assessment.client.get(
        f"/v1/attempts/{review[1].json()['attempt_id']}/review", headers=other
    )
    assert stranger.status_code == 404
