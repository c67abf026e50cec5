"""In-app inbox from real events on JetStream: once per event, own messages only, paging."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from nats.js import JetStreamContext

from servicekit.testing.services import RunningService, running_service
from servicekit.testing.waiting import eventually

from .events import certificate, enrolled, graded, publish, registered, withdrawn

pytestmark = pytest.mark.integration


@pytest.fixture
async def notification(
    database_url: str, nats_url: str, jetstream: JetStreamContext
) -> AsyncIterator[RunningService]:
    async with running_service(
        "notification", database_url, nats_url, run_scheduler=False
    ) as service:
        yield service


async def inbox(service: RunningService, learner_id: uuid.UUID, query: str = "") -> httpx.Response:
    return await service.client.get(
        f"/v1/inbox{query}", headers=service.auth("learner", learner_id=learner_id)
    )


async def test_each_event_writes_one_inbox_message_even_when_delivered_twice(
    notification: RunningService, jetstream: JetStreamContext
) -> None:
    learner_id = uuid.uuid4()
    await publish(jetstream, registered(learner_id), again=True)
    enrollment = enrolled(learner_id)
    await publish(jetstream, enrollment, again=True)
    await publish(jetstream, graded(enrollment, passed=False), again=True)
    await publish(jetstream, graded(enrollment, passed=True), again=True)
    await publish(jetstream, certificate(enrollment), again=True)
    await publish(jetstream, withdrawn(enrollment), again=True)

    page = await eventually(
        lambda: inbox(notification, learner_id), lambda r: len(r.json()["items"]) >= 5
    )
    body = page.json()
    assert body["unread_count"] == 5
    by_type = {m["event_type"]: m for m in body["items"]}
    assert sorted(by_type) == [
        "lms.assessment.failed.v1",
        "lms.assessment.passed.v1",
        "lms.enrollment.certificate-issued.v1",
        "lms.enrollment.enrolled.v1",
        "lms.enrollment.withdrawn.v1",
    ]
    welcome = by_type["lms.enrollment.enrolled.v1"]
    assert welcome["title"] == "Selamat datang di kursus Tata Kelola Keuangan Desa"
    assert "Yth. Wa Ode Sitti" in welcome["body"]
    assert "17 Agustus 2026" in welcome["body"]
    passed = by_type["lms.assessment.passed.v1"]["body"]
    assert "Tata Kelola Keuangan Desa" in passed and "85,5" in passed
    assert "coba lagi" in by_type["lms.assessment.failed.v1"]["body"]
    assert (
        "http://127.0.0.1:8001/v1/certificates/ABCD234567"
        in by_type["lms.enrollment.certificate-issued.v1"]["body"]
    )
    # the duplicates have been consumed too (the consumer is idle), yet nothing doubled
    await eventually(
        lambda: jetstream.consumer_info("LMS", "notification"),
        lambda info: info.num_pending == 0 and info.num_ack_pending == 0,
    )
    again = (await inbox(notification, learner_id)).json()
    assert again["unread_count"] == 5 and len(again["items"]) == 5


async def test_learners_read_only_their_own_messages_and_mark_them_read(
    notification: RunningService, jetstream: JetStreamContext
) -> None:
    mine, theirs = uuid.uuid4(), uuid.uuid4()
    for n in range(3):
        await publish(jetstream, enrolled(mine, title=f"Kursus {n}"))
    await publish(jetstream, enrolled(theirs, title="Kursus orang lain"))
    await eventually(lambda: inbox(notification, mine), lambda r: len(r.json()["items"]) == 3)
    await eventually(lambda: inbox(notification, theirs), lambda r: len(r.json()["items"]) == 1)

    first = await inbox(notification, mine, "?limit=2")
    assert len(first.json()["items"]) == 2 and first.json()["next_cursor"]
    second = await inbox(notification, mine, f"?limit=2&cursor={first.json()['next_cursor']}")
    assert len(second.json()["items"]) == 1 and second.json()["next_cursor"] is None
    titles = [m["title"] for m in first.json()["items"] + second.json()["items"]]
    assert sorted(titles) == [f"Selamat datang di kursus Kursus {n}" for n in range(3)]

    message_id = first.json()["items"][0]["message_id"]
    own = notification.auth("learner", learner_id=mine)
    other = notification.auth("learner", learner_id=theirs)
    refused = await notification.client.post(f"/v1/inbox/{message_id}/read", headers=other)
    assert refused.status_code == 404
    read = await notification.client.post(f"/v1/inbox/{message_id}/read", headers=own)
    assert read.status_code == 200 and read.json()["read_at"] is not None
    unread = (await inbox(notification, mine, "?unread=true")).json()
    assert unread["unread_count"] == 2
    assert message_id not in [m["message_id"] for m in unread["items"]]


async def test_inbox_refuses_missing_tokens_bad_cursors_and_tokens_without_an_owner(
    notification: RunningService,
) -> None:
    assert (await notification.client.get("/v1/inbox")).status_code == 401
    admin = await notification.client.get("/v1/inbox", headers=notification.auth("admin"))
    assert admin.status_code == 403
    bad = await inbox(notification, uuid.uuid4(), "?cursor=nonsense")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "cursor"
    limit = await inbox(notification, uuid.uuid4(), "?limit=0")
    assert limit.status_code == 422 and limit.json()["errors"][0]["field"] == "limit"
    not_a_uuid = await notification.client.post(
        "/v1/inbox/xyz/read", headers=notification.auth("learner", learner_id=uuid.uuid4())
    )
    assert not_a_uuid.status_code == 422
