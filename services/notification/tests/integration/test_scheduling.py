"""Reminders and weekly digests: once per period with two replicas, across restarts, resumable."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from nats.js import JetStreamContext
from sqlalchemy import func, select

from notification.dependencies import NotificationDependencies
from notification.domain.policy import reminder_period
from notification.scheduling import Scheduler
from notification.store.tables import schedule_runs
from servicekit.clock import ManualClock
from servicekit.testing.services import RunningService, running_service
from servicekit.testing.waiting import eventually

from .events import enrolled, publish, registered, withdrawn

pytestmark = pytest.mark.integration


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def notification(
    database_url: str, nats_url: str, jetstream: JetStreamContext, clock: ManualClock
) -> AsyncIterator[RunningService]:
    async with running_service(
        "notification",
        database_url,
        nats_url,
        deps=NotificationDependencies(clock=clock),
        run_scheduler=False,
        run_delivery_worker=False,
        reminder_inactive_days=7,
        reminder_period_days=7,
        digest_inactive_days=7,
        schedule_chunk_size=2,
    ) as service:
        yield service


async def messages(service: RunningService, learner_id: uuid.UUID) -> list[dict]:
    headers = service.auth("learner", learner_id=learner_id)
    return (await service.client.get("/v1/inbox", headers=headers)).json()["items"]


async def reminders(service: RunningService, learner_id: uuid.UUID) -> list[dict]:
    return [
        m for m in await messages(service, learner_id) if m["event_type"] == "notification.reminder"
    ]


def scheduler(service: RunningService) -> Scheduler:
    """One replica's scheduler, on the service's clock."""
    return Scheduler(service.runtime)


async def test_reminders_and_digests_run_once_per_period_with_two_replicas_and_restarts(
    notification: RunningService, jetstream: JetStreamContext, clock: ManualClock
) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=10)
    *idle, busy = sorted(uuid.uuid4() for _ in range(4))
    opted_out, left = uuid.uuid4(), uuid.uuid4()
    for learner_id in [*idle, busy, opted_out, left]:
        await publish(jetstream, registered(learner_id, name=f"Peserta {str(learner_id)[:4]}"))
        at = datetime.now(UTC) if learner_id == busy else long_ago
        enrollment = enrolled(learner_id, enrolled_at=at)
        await publish(jetstream, enrollment)
        if learner_id == left:
            await publish(jetstream, withdrawn(enrollment))
    await eventually(lambda: messages(notification, left), lambda items: len(items) == 2)
    for learner_id in [*idle, busy, opted_out]:
        await eventually(
            lambda i=learner_id: messages(notification, i), lambda items: len(items) == 1
        )
    opt_out = await notification.client.put(
        "/v1/preferences",
        json={"reminders": False},
        headers=notification.auth("learner", learner_id=opted_out),
    )
    assert opt_out.status_code == 200 and opt_out.json()["reminders"] is False

    clock.set(datetime.now(UTC))
    first, second = await asyncio.gather(
        scheduler(notification).run_once(), scheduler(notification).run_once()
    )
    ran = {**first, **second}
    assert len(ran) == 2 and sum(1 for k in ran if k.startswith("reminders/")) == 1
    assert set(first).isdisjoint(second)  # each run happened on one replica only
    for learner_id in idle:
        [reminder] = await reminders(notification, learner_id)
        assert reminder["title"] == "Lanjutkan belajar Anda"
        assert (
            "Sudah 10 hari" in reminder["body"] and "Tata Kelola Keuangan Desa" in reminder["body"]
        )
    for learner_id in (busy, opted_out, left):
        assert await reminders(notification, learner_id) == []

    regency = notification.auth("supervisor", region_code="74.01")
    digests = (await notification.client.get("/v1/inbox", headers=regency)).json()["items"]
    assert len(digests) == 1 and digests[0]["event_type"] == "notification.digest"
    assert "4 peserta tidak aktif" in digests[0]["title"]  # the opted-out learner still counts
    assert "Kabupaten Kolaka" in digests[0]["title"]
    province = notification.auth("supervisor", region_code="74")
    assert len((await notification.client.get("/v1/inbox", headers=province)).json()["items"]) == 1
    elsewhere = notification.auth("supervisor", region_code="32.01")
    assert (await notification.client.get("/v1/inbox", headers=elsewhere)).json()["items"] == []

    # a restarted replica finds the period done
    assert await scheduler(notification).run_once() == {}
    for learner_id in idle:
        assert len(await reminders(notification, learner_id)) == 1

    # next period: a replica died after the first chunk; another takes over from its cursor
    clock.advance(timedelta(days=7))
    period = reminder_period(clock.now, 7)
    async with notification.runtime.database.transaction() as tx:
        await tx.conn.execute(
            schedule_runs.insert().values(
                kind="reminders",
                period=period,
                state="running",
                cursor={"learner_id": str(idle[0])},
                lease_until=clock.now - timedelta(seconds=1),
                started_at=clock.now - timedelta(minutes=10),
            )
        )
    resumed = await scheduler(notification).run_once()
    assert resumed[f"reminders/{period}"] == 3
    assert len(await reminders(notification, idle[0])) == 1  # its chunk was done before the crash
    assert [len(await reminders(notification, i)) for i in idle[1:]] == [2, 2]
    assert len(await reminders(notification, busy)) == 1  # idle for 7 days by now
    async with notification.runtime.database.read() as conn:
        runs = (await conn.execute(select(func.count()).select_from(schedule_runs))).scalar_one()
    assert runs == 4  # two reminder periods, two digest weeks
