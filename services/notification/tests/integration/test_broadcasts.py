"""Coaching messages: a region's filtered learners each get one message (inbox and their
channels), however often listed or requested, and a job that dies mid-way resumes; other
regions' learners are refused without being revealed; digests reach district supervisors,
by e-mail too."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from nats.js import JetStreamContext

from notification.broadcasting import Broadcaster
from notification.delivery import DeliveryWorker
from notification.domain.model import Channel
from notification.main import Settings, dependencies
from notification.scheduling import Scheduler
from servicekit.clock import ManualClock
from servicekit.testing.services import RunningService, running_service
from servicekit.testing.waiting import eventually

from .events import contact, enrolled, publish, registered
from .servers import SmtpServer, smtp_server

pytestmark = pytest.mark.integration
TOWUA, LAMBUYA = "74.01.01.2006", "74.02.01.1001"  # Kolaka and Konawe, Sulawesi Tenggara
COURSE = uuid.uuid4()


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpServer]:
    async with smtp_server() as server:
        yield server


@pytest.fixture
async def notification(
    database_url: str, nats_url: str, jetstream: JetStreamContext, smtp: SmtpServer
) -> AsyncIterator[RunningService]:
    settings: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp.port,
        "smtp_tls": "none",
        "run_scheduler": False,
        "run_delivery_worker": False,
        "run_broadcaster": False,
        "broadcast_batch_size": 2,
        "digest_inactive_days": 7,
    }
    deps = replace(dependencies(Settings(**settings)), clock=ManualClock())
    async with running_service(
        "notification", database_url, nats_url, deps=deps, **settings
    ) as service:
        yield service


async def learner(
    js: JetStreamContext, village_code: str, days_idle: int, email: str | None = None
) -> uuid.UUID:
    learner_id = uuid.uuid4()
    name = f"Peserta {str(learner_id)[:4]}"
    place = {"village_code": village_code}
    await publish(js, registered(learner_id, name=name).model_copy(update=place))
    await publish(js, contact(learner_id, phone=None, email=email).model_copy(update=place))
    at = datetime.now(UTC) - timedelta(days=days_idle)
    await publish(
        js, enrolled(learner_id, course_id=COURSE, village_code=village_code, enrolled_at=at)
    )
    return learner_id


async def welcomed(service: RunningService, *learner_ids: uuid.UUID) -> None:
    """Wait until the service has consumed each learner's enrollment (its welcome is in)."""
    for learner_id in learner_ids:
        headers = service.auth("learner", learner_id=learner_id)
        await eventually(
            lambda h=headers: service.client.get("/v1/inbox", headers=h),
            lambda r: len(r.json()["items"]) == 1,
        )


async def inbox(service: RunningService, learner_id: uuid.UUID) -> list[dict[str, Any]]:
    headers = service.auth("learner", learner_id=learner_id)
    items = (await service.client.get("/v1/inbox", headers=headers)).json()["items"]
    return [m for m in items if m["event_type"] == "notification.coaching"]


async def send(
    service: RunningService, body: dict[str, Any], region: str = "74.01", key: str = "k1"
) -> Any:
    return await service.client.post(
        "/v1/broadcasts",
        json=body,
        headers={**service.auth("supervisor", region_code=region), "Idempotency-Key": key},
    )


async def work_off(service: RunningService) -> None:
    worker = Broadcaster(service.runtime)
    while await worker.run_once():
        pass


MESSAGE = {"title": "Ayo lanjutkan pelatihan", "text": "Bapak/Ibu, modul 2 menunggu."}


async def test_each_filtered_learner_gets_one_message_however_often_listed_or_requested(
    notification: RunningService, jetstream: JetStreamContext, smtp: SmtpServer
) -> None:
    idle = await learner(jetstream, TOWUA, 10, email="idle@desa.id")
    quiet = await learner(jetstream, TOWUA, 12)
    busy = await learner(jetstream, TOWUA, 0)
    await welcomed(notification, idle, quiet, busy)
    clock = notification.runtime.clock
    assert isinstance(clock, ManualClock)
    clock.set(datetime.now(UTC))

    body = {**MESSAGE, "course_id": str(COURSE), "inactive_days": 7}
    body["learner_ids"] = [str(idle), str(idle), str(quiet), str(busy)]
    first = await send(notification, body)
    assert first.status_code == 202, first.text
    job = first.json()
    assert job["total"] == 2 and job["state"] == "running"  # busy is active; idle once
    again = await send(notification, body)
    assert again.status_code == 202 and again.json()["broadcast_id"] == job["broadcast_id"]

    await work_off(notification)
    progress = await notification.client.get(
        f"/v1/broadcasts/{job['broadcast_id']}",
        headers=notification.auth("supervisor", region_code="74"),
    )
    assert progress.json()["state"] == "done" and progress.json()["sent"] == 2
    for learner_id in (idle, quiet):
        [message] = await inbox(notification, learner_id)
        assert message["title"] == "Ayo lanjutkan pelatihan"
        assert "modul 2 menunggu" in message["body"] and "Kabupaten Kolaka" in message["body"]
    assert await inbox(notification, busy) == []

    # e-mail where the learner has an address, once
    delivery = DeliveryWorker(notification.runtime)
    while await delivery.run_once(Channel.EMAIL):
        pass
    coaching = [m for m in smtp.received if m.message["subject"] == MESSAGE["title"]]
    assert [m.rcpt_to for m in coaching] == [["idle@desa.id"]]


async def test_a_job_that_dies_mid_chunk_resumes_without_a_second_message(
    notification: RunningService, jetstream: JetStreamContext
) -> None:
    learners = [await learner(jetstream, TOWUA, 10) for _ in range(3)]
    await welcomed(notification, *learners)
    body = {**MESSAGE, "learner_ids": [str(i) for i in learners]}
    job = (await send(notification, body)).json()
    assert job["total"] == 3

    worker = Broadcaster(notification.runtime)
    real_apply = notification.runtime.runner.apply
    calls = 0

    async def dies_on_the_second(tx: Any, *commands: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise ConnectionResetError("the replica died")
        return await real_apply(tx, *commands)

    notification.runtime.runner.apply = dies_on_the_second
    with pytest.raises(ConnectionResetError):
        await worker.run_once()
    notification.runtime.runner.apply = real_apply
    await work_off(notification)
    for learner_id in learners:
        assert len(await inbox(notification, learner_id)) == 1


async def test_other_regions_learners_are_refused_and_nothing_is_sent(
    notification: RunningService, jetstream: JetStreamContext
) -> None:
    ours = await learner(jetstream, TOWUA, 10)
    theirs = await learner(jetstream, LAMBUYA, 10)
    await welcomed(notification, ours, theirs)

    mixed = {**MESSAGE, "learner_ids": [str(ours), str(theirs)]}
    refused = await send(notification, mixed, key="mixed")
    unknown = await send(notification, {**MESSAGE, "learner_ids": [str(uuid.uuid4())]}, key="u")
    for response in (refused, unknown):
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "learner_not_found"
        assert response.json()["errors"][0]["field"] == "learner_ids"
    foreign = await send(notification, {**MESSAGE, "region_code": "74.02"}, key="f")
    assert foreign.status_code == 403 and foreign.json()["code"] == "outside_region"
    await work_off(notification)
    assert await inbox(notification, ours) == []

    nul = await send(notification, {**MESSAGE, "text": "a\x00b"}, key="nul")
    long = await send(notification, {**MESSAGE, "title": "x" * 121}, key="long")
    assert nul.status_code == 422 and nul.json()["errors"][0]["field"] == "text"
    assert long.status_code == 422 and long.json()["errors"][0]["field"] == "title"
    no_key = await notification.client.post(
        "/v1/broadcasts", json=MESSAGE, headers=notification.auth("supervisor", region_code="74")
    )
    assert no_key.status_code == 422
    assert no_key.json()["errors"][0]["field"] == "Idempotency-Key"
    learner_token = notification.auth("learner", learner_id=ours)
    denied = await notification.client.post(
        "/v1/broadcasts", json=MESSAGE, headers={**learner_token, "Idempotency-Key": "x"}
    )
    assert denied.status_code == 403


async def test_district_supervisors_get_the_digest_in_their_inbox_and_by_email(
    notification: RunningService, jetstream: JetStreamContext, smtp: SmtpServer
) -> None:
    idle = await learner(jetstream, TOWUA, 10)
    await welcomed(notification, idle)
    district = notification.auth("supervisor", region_code="74.01.01")
    subscribed = await notification.client.put(
        "/v1/digest-subscription", json={"email": "camat@kolaka.go.id"}, headers=district
    )
    assert subscribed.status_code == 200 and subscribed.json()["region_code"] == "74.01.01"
    bad = await notification.client.put(
        "/v1/digest-subscription", json={"email": "bukan-alamat"}, headers=district
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "email"

    clock = notification.runtime.clock
    assert isinstance(clock, ManualClock)
    clock.set(datetime.now(UTC))
    await Scheduler(notification.runtime).run_once()
    digests = (await notification.client.get("/v1/inbox", headers=district)).json()["items"]
    assert len(digests) == 1 and "1 peserta tidak aktif" in digests[0]["title"]
    assert await DeliveryWorker(notification.runtime).run_once(Channel.EMAIL) == 1
    [mail] = smtp.received
    assert mail.rcpt_to == ["camat@kolaka.go.id"]
    assert "tidak aktif" in str(mail.message["subject"])
