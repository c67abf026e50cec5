"""Rules of attempts over HTTP on real PostgreSQL and NATS: one result under concurrent
submits, time limits against the service's clock, limits and problems naming what is wrong."""

import asyncio
import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from nats.js import JetStreamContext

import lms_contracts as c
from assessment.expiry import expire_once
from servicekit.clock import ManualClock
from servicekit.testing.services import RunningService
from servicekit.testing.waiting import eventually

from .conftest import (
    answers_from_key,
    assert_no_key,
    assessment_body,
    create_assessment,
    enroll,
    events_of,
    outbox_types,
    start,
)

pytestmark = pytest.mark.integration


async def test_concurrent_submits_of_one_attempt_give_one_result_and_one_event(
    assessment: RunningService, jetstream: JetStreamContext
) -> None:
    course_id = uuid.uuid4()
    pre = await create_assessment(assessment, assessment_body(course_id, "pre_test"))
    _, me, _ = await enroll(assessment, jetstream, course_id, pre["assessment_id"])
    attempts = await asyncio.gather(
        *(
            assessment.client.post(f"/v1/assessments/{pre['assessment_id']}/attempts", headers=me)
            for _ in range(4)
        )
    )
    assert sorted(r.status_code for r in attempts) == [200, 200, 200, 201]
    assert len({r.json()["attempt_id"] for r in attempts}) == 1
    paper = attempts[0].json()
    right, wrong = (answers_from_key(pre, paper["questions"], right=r) for r in (True, False))

    submits = await asyncio.gather(
        *(
            assessment.client.post(
                f"/v1/attempts/{paper['attempt_id']}/submit",
                json={"answers": right if n % 2 else wrong},
                headers=me,
            )
            for n in range(6)
        )
    )
    assert {r.status_code for r in submits} == {200}
    results = {(r.json()["score"], r.json()["graded_at"]) for r in submits}
    assert len(results) == 1
    graded = await outbox_types(assessment)
    assert len([t for t in graded if t.startswith("lms.assessment.")]) == 1


async def test_the_time_limit_is_enforced_by_the_service_clock_with_a_grace(
    assessment: RunningService, jetstream: JetStreamContext, clock: ManualClock
) -> None:
    clock.set(datetime(2026, 11, 2, 1, 0, tzinfo=UTC))
    course_id = uuid.uuid4()
    quiz = await create_assessment(
        assessment,
        assessment_body(course_id, "quiz", max_attempts=3, time_limit_seconds=600),
    )
    _, me, _ = await enroll(assessment, jetstream, course_id, quiz["assessment_id"])

    first = await start(assessment, quiz["assessment_id"], me)
    assert first["expires_at"] == "2026-11-02T01:10:00Z"
    clock.advance(timedelta(seconds=600 + 30))  # the default grace of 30 s, to the second
    on_time = await assessment.client.post(
        f"/v1/attempts/{first['attempt_id']}/submit",
        json={"answers": answers_from_key(quiz, first["questions"])},
        headers=me,
    )
    assert on_time.status_code == 200 and on_time.json()["score"] == 100

    second = await start(assessment, quiz["assessment_id"], me)
    clock.advance(timedelta(seconds=631))
    path = f"/v1/attempts/{second['attempt_id']}/submit"
    answers = {"answers": answers_from_key(quiz, second["questions"])}
    late = await assessment.client.post(path, json=answers, headers=me)
    assert late.status_code == 409 and late.json()["code"] == "attempt_expired"
    assert late.json()["result"]["score"] == 0 and late.json()["result"]["status"] == "expired"
    again = await assessment.client.post(path, json=answers, headers=me)
    assert again.status_code == 409 and again.json()["result"] == late.json()["result"]
    shown = await assessment.client.get(f"/v1/attempts/{second['attempt_id']}", headers=me)
    assert shown.json()["status"] == "expired" and shown.json()["passed"] is False
    assert_no_key(shown)

    third = await start(assessment, quiz["assessment_id"], me)
    assert third["attempt_number"] == 3
    abandoned = await assessment.client.get(f"/v1/attempts/{third['attempt_id']}", headers=me)
    assert abandoned.json()["status"] == "in_progress"
    clock.advance(timedelta(seconds=631))
    shown = await assessment.client.get(f"/v1/attempts/{third['attempt_id']}", headers=me)
    assert shown.json()["status"] == "expired"
    assert assessment.runtime.settings.submit_grace == timedelta(seconds=30)
    assert await expire_once(assessment.runtime) == 1
    assert await expire_once(assessment.runtime) == 0

    used_up = await assessment.client.post(
        f"/v1/assessments/{quiz['assessment_id']}/attempts", headers=me
    )
    assert used_up.status_code == 409 and used_up.json()["code"] == "max_attempts_reached"
    summary = await assessment.client.get(f"/v1/assessments/{quiz['assessment_id']}", headers=me)
    assert summary.json()["attempts_used"] == 3 and summary.json()["available"] is False
    assert summary.json()["unavailable_reason"] == (
        "Semua 3 kesempatan penilaian ini sudah dipakai."
    )

    failed = await eventually(
        lambda: events_of(jetstream, "lms.assessment.failed.v1"), lambda found: len(found) == 2
    )
    assert [e.data.attempt_number for e in failed] == [2, 3]
    assert {e.data.assessment_kind for e in failed} == {c.AssessmentKind.QUIZ}


async def test_drawn_papers_and_bad_requests_get_clear_problems(
    assessment: RunningService, jetstream: JetStreamContext
) -> None:
    course_id = uuid.uuid4()
    body = assessment_body(course_id, "pre_test", questions_drawn=2)
    learner_token = assessment.auth("learner", learner_id=uuid.uuid4())
    refused = await assessment.client.post("/v1/assessments", json=body, headers=learner_token)
    assert refused.status_code == 403
    assert (await assessment.client.post("/v1/assessments", json=body)).status_code == 401

    two_right = body | {"questions": [dict(body["questions"][0])], "questions_drawn": None}
    two_right["questions"][0]["options"] = [{"text": "a", "correct": True}] * 2
    for bad, field in (
        (two_right, "questions.0.options.1.text"),
        (body | {"questions_drawn": 9}, "questions_drawn"),
        (body | {"pass_score": 120}, "pass_score"),
        (body | {"kind": "final_exam"}, "kind"),
        (
            body | {"questions": [body["questions"][2] | {"options": []}], "questions_drawn": None},
            "questions.0.options",
        ),
    ):
        response = await assessment.client.post(
            "/v1/assessments", json=bad, headers=assessment.auth("instructor")
        )
        assert response.status_code == 422, (field, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert field in [e["field"] for e in response.json()["errors"]]

    keyed = assessment.auth("instructor") | {"Idempotency-Key": "bank-pre-1"}
    created = [
        await assessment.client.post("/v1/assessments", json=body, headers=keyed) for _ in range(2)
    ]
    assert [r.status_code for r in created] == [201, 201]
    assert created[0].json() == created[1].json()
    pre = created[0].json()
    _, me, _ = await enroll(assessment, jetstream, course_id, pre["assessment_id"])
    paper = await start(assessment, pre["assessment_id"], me)
    assert len(paper["questions"]) == 2
    drawn = {q["question_id"] for q in paper["questions"]}
    not_drawn = next(q for q in pre["questions"] if q["question_id"] not in drawn)
    path = f"/v1/attempts/{paper['attempt_id']}/submit"
    stray = await assessment.client.post(
        path,
        json={"answers": [{"question_id": not_drawn["question_id"], "value": True}]},
        headers=me,
    )
    assert stray.status_code == 422
    assert stray.json()["errors"][0]["field"] == "answers.0.question_id"
    shapeless = await assessment.client.post(
        path, json={"answers": [{"question_id": "x", "value": "ya"}]}, headers=me
    )
    assert {e["field"] for e in shapeless.json()["errors"]} == {
        "answers.0.question_id",
        "answers.0.value",
    }

    unknown = await assessment.client.post(
        f"/v1/attempts/{uuid.uuid4()}/submit", json={"answers": []}, headers=me
    )
    assert unknown.status_code == 404 and unknown.json()["code"] == "attempt_not_found"
    other = assessment.auth("learner", learner_id=uuid.uuid4())
    assert (
        await assessment.client.post(path, json={"answers": []}, headers=other)
    ).status_code == 404
    assert (
        await assessment.client.get(f"/v1/attempts/{paper['attempt_id']}", headers=other)
    ).status_code == 404
    elsewhere = assessment.auth("supervisor", region_code="32")
    assert (
        await assessment.client.get(f"/v1/attempts/{paper['attempt_id']}", headers=elsewhere)
    ).status_code == 404
    sultra = assessment.auth("supervisor", region_code="74")
    seen = await assessment.client.get(f"/v1/attempts/{paper['attempt_id']}", headers=sultra)
    assert seen.status_code == 200
    assert (
        await assessment.client.post(f"/v1/assessments/{uuid.uuid4()}/attempts", headers=me)
    ).status_code == 404


async def test_lists_page_with_cursors_and_a_foreign_cursor_names_the_cursor(
    assessment: RunningService, jetstream: JetStreamContext
) -> None:
    course_id = uuid.uuid4()
    created = [
        await create_assessment(assessment, assessment_body(course_id, "quiz")) for _ in range(3)
    ]
    _, me, _ = await enroll(assessment, jetstream, course_id, created[0]["assessment_id"])
    for quiz in created:
        await start(assessment, quiz["assessment_id"], me)

    for path, filters, headers in (
        ("/v1/assessments", {"course_id": str(course_id)}, assessment.auth("instructor")),
        ("/v1/attempts", {}, me),
    ):
        first = await assessment.client.get(path, params=filters | {"limit": 2}, headers=headers)
        assert first.status_code == 200 and len(first.json()["items"]) == 2
        cursor = first.json()["next_cursor"]
        rest = await assessment.client.get(
            path, params=filters | {"limit": 2, "cursor": cursor}, headers=headers
        )
        assert len(rest.json()["items"]) == 1 and rest.json()["next_cursor"] is None
        seen = [i for page in (first, rest) for i in page.json()["items"]]
        assert len({str(i.get("attempt_id", i["assessment_id"])) for i in seen}) == 3

        _, _, mac = first.json()["next_cursor"].partition(".")
        forged = base64.urlsafe_b64encode(json.dumps({"id": str(uuid.uuid4())}).encode())
        tampered = f"{forged.decode().rstrip('=')}.{mac}"
        for bad, status in ((tampered, 400), ("not-a-cursor", 422)):
            refused = await assessment.client.get(
                path, params=filters | {"cursor": bad}, headers=headers
            )
            assert refused.status_code == status
            assert refused.json()["errors"][0]["field"] == "cursor"
