"""Papers answered offline, over HTTP on real PostgreSQL and NATS: downloaded without the key,
synced twice and graded once with the learner's local time, refused when they no longer
apply."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from nats.js import JetStreamContext
from sqlalchemy import select

import lms_contracts as c
from servicekit.clock import ManualClock
from servicekit.testing.services import RunningService
from servicekit.testing.waiting import eventually

from .conftest import (
    answers_from_key,
    assert_no_key,
    assessment_body,
    create_assessment,
    enroll,
    outbox_types,
    publish,
)

pytestmark = pytest.mark.integration
WITA = timezone(timedelta(hours=8))


async def test_a_quiz_paper_answered_offline_is_graded_once_with_the_local_time_kept(
    assessment: RunningService, jetstream: JetStreamContext, clock: ManualClock
) -> None:
    course_id = uuid.uuid4()
    quiz = await create_assessment(
        assessment, assessment_body(course_id, "quiz", time_limit_seconds=None)
    )
    post = await create_assessment(assessment, assessment_body(course_id, "post_test"))
    assert quiz["allow_offline"] is True and post["allow_offline"] is False
    _, me, _ = await enroll(assessment, jetstream, course_id, quiz["assessment_id"])
    summary = await assessment.client.get(f"/v1/assessments/{quiz['assessment_id']}", headers=me)
    assert summary.json()["allow_offline"] is True

    url = f"/v1/assessments/{quiz['assessment_id']}/papers"
    taken = await assessment.client.post(url, headers=me)
    assert taken.status_code == 201, taken.text
    assert_no_key(taken)
    paper = taken.json()
    assert paper["format"] == "lms-offline-paper/1" and len(paper["questions"]) == 4
    assert paper["rules"] | {"submit_path": None, "answered_at": None} == {
        "offline": True,
        "timed": False,
        "graded": "once_when_synced",
        "pass_score": 70.0,
        "max_attempts": 3,
        "attempts_used": 1,
        "attempts_left": 2,
        "course_version": 1,
        "post_test_offline": False,
        "submit_path": None,
        "answered_at": None,
    }
    retried = await assessment.client.post(url, headers=me)  # the signal dropped: ask again
    assert retried.status_code == 200 and retried.json()["attempt_id"] == paper["attempt_id"]

    clock.advance(timedelta(days=2))
    answered = (clock() - timedelta(days=1)).astimezone(WITA).replace(microsecond=0)
    body = {
        "answers": answers_from_key(quiz, paper["questions"]),
        "answered_at": answered.isoformat(),
    }
    submit = f"/v1/attempts/{paper['attempt_id']}/submit"
    synced = await asyncio.gather(
        *(assessment.client.post(submit, json=body, headers=me) for _ in range(3))
    )
    assert {r.status_code for r in synced} == {200}
    results = {(r.json()["score"], r.json()["graded_at"], r.json()["answered_at"]) for r in synced}
    assert results == {(100.0, clock().isoformat().replace("+00:00", "Z"), answered.isoformat())}
    assert synced[0].json()["offline"] is True
    assert (await outbox_types(assessment)).count("lms.assessment.passed.v1") == 1

    other = assessment.auth("learner", learner_id=uuid.uuid4())
    foreign = await assessment.client.post(submit, json=body, headers=other)
    assert foreign.status_code == 404 and foreign.json()["code"] == "attempt_not_found"
    online_only = await assessment.client.post(
        f"/v1/assessments/{post['assessment_id']}/papers", headers=me
    )
    assert online_only.status_code == 409 and online_only.json()["code"] == "online_only"


async def test_papers_with_bad_times_or_of_a_version_the_learner_left_are_refused(
    assessment: RunningService, jetstream: JetStreamContext, clock: ManualClock
) -> None:
    course_id = uuid.uuid4()
    pre = await create_assessment(
        assessment, assessment_body(course_id, "pre_test", time_limit_seconds=None)
    )
    learner_id, me, enrollment = await enroll(
        assessment, jetstream, course_id, pre["assessment_id"]
    )
    paper = (
        await assessment.client.post(f"/v1/assessments/{pre['assessment_id']}/papers", headers=me)
    ).json()
    submit = f"/v1/attempts/{paper['attempt_id']}/submit"
    answers = answers_from_key(pre, paper["questions"])
    for answered, why in [
        ("2026-11-01T10:00:00", "naive"),
        ((clock() + timedelta(days=1)).isoformat(), "in the future"),
        ((clock() - timedelta(days=1)).isoformat(), "before the paper"),
    ]:
        refused = await assessment.client.post(
            submit, json={"answers": answers, "answered_at": answered}, headers=me
        )
        assert refused.status_code == 422, why
        assert refused.json()["errors"][0]["field"] == "answered_at", why

    # the learner is enrolled again, in version 2 of the course
    await publish(
        jetstream,
        c.Enrolled(
            **enrollment.model_dump(exclude={"course_version", "enrolled_at"}),
            course_version=2,
            enrolled_at=datetime.now(UTC),
        ),
    )
    await eventually(lambda: version_known(assessment, learner_id), lambda v: v == 2)
    outdated = await assessment.client.post(submit, json={"answers": answers}, headers=me)
    assert outdated.status_code == 409, outdated.text
    problem = outdated.json()
    assert problem["code"] == "paper_outdated"
    assert (problem["issued_for_version"], problem["course_version"]) == (1, 2)
    fresh = await assessment.client.post(
        f"/v1/assessments/{pre['assessment_id']}/papers", headers=me
    )
    assert fresh.status_code == 201 and fresh.json()["rules"]["course_version"] == 2
    assert fresh.json()["rules"]["attempts_used"] == 1, "the void paper counts for nothing"
    again = await assessment.client.post(submit, json={"answers": answers}, headers=me)
    assert again.status_code == 409 and again.json()["code"] == "paper_outdated"
    mine = await assessment.client.get(
        f"/v1/attempts?assessment_id={pre['assessment_id']}", headers=me
    )
    assert sorted(a["status"] for a in mine.json()["items"]) == ["in_progress", "void"]
    assert (await outbox_types(assessment)) == []


async def version_known(service: RunningService, learner_id: uuid.UUID) -> int | None:
    """The course version the service has learnt for the learner (from enrolled events)."""
    enrollments = service.runtime.definition.metadata.tables["enrollments"]
    async with service.runtime.database.read() as conn:
        query = select(enrollments.c.course_version).where(enrollments.c.learner_id == learner_id)
        return (await conn.execute(query)).scalar_one_or_none()
