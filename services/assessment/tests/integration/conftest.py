"""The assessment service on real PostgreSQL and NATS, and helpers to drive it like a gateway."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from nats.js import JetStreamContext
from sqlalchemy import select

import lms_contracts as c
from assessment.dependencies import AssessmentDependencies
from servicekit.clock import ManualClock
from servicekit.testing.services import RunningService, running_service
from servicekit.testing.waiting import eventually

TOWUA = "74.01.01.2006"
KEY_FIELDS = {"correct", "answer", "accepted_answers", "match"}


@pytest.fixture
def clock() -> ManualClock:
    """The service's clock, held still; a test moves it where time matters."""
    return ManualClock()


@pytest.fixture
async def assessment(
    database_url: str, nats_url: str, jetstream: JetStreamContext, clock: ManualClock
) -> AsyncIterator[RunningService]:
    # the sweeper's pass is called directly where a test moves the clock
    async with running_service(
        "assessment",
        database_url,
        nats_url,
        deps=AssessmentDependencies(clock=clock),
        run_expiry_sweeper=False,
    ) as service:
        yield service


def bank() -> list[dict[str, Any]]:
    """One question of every kind; the first option of a choice question is the right one."""
    return [
        {
            "kind": "single_choice",
            "prompt": "Siapa menetapkan APBDes?",
            "options": [
                {"text": "Kepala desa bersama BPD", "correct": True},
                {"text": "Camat", "correct": False},
                {"text": "Bupati", "correct": False},
            ],
        },
        {
            "kind": "multiple_choice",
            "prompt": "Yang termasuk pelayanan administrasi desa:",
            "options": [
                {"text": "Surat keterangan domisili", "correct": True},
                {"text": "Surat pengantar nikah", "correct": True},
                {"text": "Penerbitan paspor", "correct": False},
            ],
            "points": 2,
        },
        {"kind": "true_false", "prompt": "APBDes ditetapkan dengan perdes.", "answer": True},
        {
            "kind": "short_answer",
            "prompt": "Singkatan anggaran pendapatan dan belanja desa?",
            "accepted_answers": ["APBDes"],
            "match": "normalised",
        },
    ]


def assessment_body(course_id: uuid.UUID, kind: str = "post_test", **changes: Any) -> dict:
    return {
        "course_id": str(course_id),
        "kind": kind,
        "title": f"{kind}: Pengelolaan Keuangan Desa",
        "pass_score": 70,
        "max_attempts": 3,
        "time_limit_seconds": 1800,
        "questions_drawn": None,
        "shuffle_questions": True,
        "shuffle_options": True,
        "questions": bank(),
    } | changes


async def create_assessment(service: RunningService, body: dict) -> dict:
    response = await service.client.post(
        "/v1/assessments", json=body, headers=service.auth("instructor")
    )
    assert response.status_code == 201, response.text
    return response.json()


async def publish(js: JetStreamContext, data: c.EventData) -> c.CloudEvent:
    event = c.new_event(data)
    await js.publish(c.subject_of(data), event.to_json(), headers={"Nats-Msg-Id": str(event.id)})
    return event


def course_published(course_id: uuid.UUID, lesson_ids: list[uuid.UUID]) -> c.CoursePublished:
    return c.CoursePublished(
        course_id=course_id,
        course_version=1,
        code="KEU-01",
        title="Pengelolaan Keuangan Desa",
        lesson_ids=lesson_ids,
        required_lesson_ids=lesson_ids,
        published_at=datetime.now(UTC),
    )


def enrolled(learner_id: uuid.UUID, course_id: uuid.UUID) -> c.Enrolled:
    return c.Enrolled(
        enrollment_id=uuid.uuid4(),
        learner_id=learner_id,
        course_id=course_id,
        course_version=1,
        course_title="Pengelolaan Keuangan Desa",
        village_code=TOWUA,
        position=c.Position.SEKRETARIS_DESA,
        enrolled_at=datetime.now(UTC),
    )


def lesson_completed(
    learner_id: uuid.UUID, course_id: uuid.UUID, lesson_id: uuid.UUID
) -> c.LessonCompleted:
    now = datetime.now(UTC)
    return c.LessonCompleted(
        learner_id=learner_id,
        course_id=course_id,
        course_version=1,
        lesson_id=lesson_id,
        village_code=TOWUA,
        completed_at=now,
        recorded_at=now,
    )


async def enroll(
    service: RunningService, js: JetStreamContext, course_id: uuid.UUID, assessment_id: str
) -> tuple[uuid.UUID, dict[str, str], c.Enrolled]:
    """A learner enrolled through a real enrolled event, once the service has learnt it."""
    learner_id = uuid.uuid4()
    event = enrolled(learner_id, course_id)
    await publish(js, event)
    me = service.auth("learner", learner_id=learner_id)
    await eventually(
        lambda: service.client.get(f"/v1/assessments/{assessment_id}", headers=me),
        lambda r: r.status_code == 200,
    )
    return learner_id, me, event


async def start(service: RunningService, assessment_id: str, me: dict[str, str]) -> dict:
    response = await service.client.post(f"/v1/assessments/{assessment_id}/attempts", headers=me)
    assert response.status_code == 201, response.text
    assert_no_key(response)
    return response.json()


def answers_from_key(keyed: dict, paper: list[dict], right: bool = True) -> list[dict]:
    """Answers to the questions on the paper, right (or all wrong), from the author's view."""
    by_id = {q["question_id"]: q for q in keyed["questions"]}
    answers = []
    for question in paper:
        key = by_id[question["question_id"]]
        if key["kind"] == "true_false":
            answers.append({"question_id": key["question_id"], "value": key["answer"] is right})
        elif key["kind"] == "short_answer":
            text = f"  {key['accepted_answers'][0].lower()}! " if right else "BUMDes"
            answers.append({"question_id": key["question_id"], "text": text})
        else:
            chosen = [o["option_id"] for o in key["options"] if o["correct"] is right]
            answers.append(
                {
                    "question_id": key["question_id"],
                    "option_ids": chosen[:1] if (key["kind"] == "single_choice") else chosen,
                }
            )
    return answers


def assert_no_key(response: httpx.Response) -> None:
    """Nothing in a learner's response may tell which answer is right."""

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            leaked = KEY_FIELDS & set(value)
            assert not leaked, f"answer key fields {leaked} in {response.request.url}"
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(response.json())


async def events_of(js: JetStreamContext, event_type: str) -> list[c.CloudEvent]:
    info = await js.stream_info("LMS")
    found = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1) if info.state.messages else []:
        event = c.parse_event((await js.get_msg("LMS", seq)).data)
        if event.type == event_type:
            found.append(event)
    return found


async def outbox_types(service: RunningService) -> list[str]:
    outbox = service.runtime.definition.metadata.tables["outbox"]
    async with service.runtime.database.read() as conn:
        return list((await conn.execute(select(outbox.c.event_type))).scalars())
