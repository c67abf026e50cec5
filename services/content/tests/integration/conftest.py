"""The content service on real PostgreSQL and NATS, and helpers to drive it like a gateway."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from nats.js import JetStreamContext

import lms_contracts as c
from servicekit.testing.services import RunningService, running_service
from servicekit.testing.waiting import eventually

TOWUA = "74.01.01.2006"


@pytest.fixture
async def content(
    database_url: str, nats_url: str, jetstream: JetStreamContext
) -> AsyncIterator[RunningService]:
    async with running_service(
        "content",
        database_url,
        nats_url,
        attachment_max_bytes=64 * 1024,
        sync_max_items=20,
        course_budget_bytes=200_000,
    ) as service:
        yield service


def course_body(code: str = "KEU-01", lessons: int = 2) -> dict[str, Any]:
    return {
        "code": code,
        "title": "Pengelolaan Keuangan Desa",
        "description": "Perencanaan sampai pertanggungjawaban APBDes.",
        "competency_area": "Tata kelola keuangan",
        "modules": [
            {
                "title": "APBDes",
                "lessons": [
                    {
                        "title": f"Pelajaran {n + 1}",
                        "kind": "text",
                        "body": f"Isi pelajaran {n + 1}.",
                        "required": n == 0 or n < lessons - 1,
                    }
                    for n in range(lessons)
                ],
            }
        ],
    }


async def create_course(service: RunningService, body: dict[str, Any] | None = None) -> dict:
    response = await service.client.post(
        "/v1/courses", json=body or course_body(), headers=service.auth("instructor")
    )
    assert response.status_code == 201, response.text
    return response.json()


async def publish_course(service: RunningService, course_id: str) -> dict:
    response = await service.client.post(
        f"/v1/courses/{course_id}/publish", headers=service.auth("instructor")
    )
    assert response.status_code == 200, response.text
    return response.json()


async def publish(js: JetStreamContext, data: c.EventData) -> c.CloudEvent:
    event = c.new_event(data)
    await js.publish(c.subject_of(data), event.to_json(), headers={"Nats-Msg-Id": str(event.id)})
    return event


def enrolled(learner_id: uuid.UUID, course: dict, version: int | None = None) -> c.Enrolled:
    return c.Enrolled(
        enrollment_id=uuid.uuid4(),
        learner_id=learner_id,
        course_id=uuid.UUID(course["course_id"]),
        course_version=version or course["version"],
        course_title=course["title"],
        village_code=TOWUA,
        position=c.Position.SEKRETARIS_DESA,
        enrolled_at=datetime.now(UTC),
    )


async def enroll(
    js: JetStreamContext, service: RunningService, course: dict, version: int | None = None
) -> tuple[uuid.UUID, dict[str, str], c.Enrolled]:
    """Publish a real enrolled event and wait until the service lets the learner in."""
    learner_id = uuid.uuid4()
    event = enrolled(learner_id, course, version)
    await publish(js, event)
    me = service.auth("learner", learner_id=learner_id)
    await eventually(
        lambda: service.client.get(f"/v1/courses/{course['course_id']}", headers=me),
        lambda r: r.status_code == 200 and r.json()["modules"][0]["lessons"][0]["body"],
    )
    return learner_id, me, event


async def events_of(js: JetStreamContext, event_type: str) -> list[c.CloudEvent]:
    info = await js.stream_info("LMS")
    found = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1) if info.state.messages else []:
        event = c.parse_event((await js.get_msg("LMS", seq)).data)
        if event.type == event_type:
            found.append(event)
    return found
