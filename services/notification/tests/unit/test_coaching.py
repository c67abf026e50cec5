"""Coaching messages and supervisors' digests, on a fake unit of work: the whole request is
refused for one learner outside the region, an empty filter says so, the message reads as
the coach wrote it, and each subscribed supervisor gets one e-mail per digest."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from notification import usecases
from notification.domain import commands
from notification.domain.errors import LearnerNotFound, NoRecipients
from notification.domain.model import Audience, Channel, Kind, PlannedDelivery, Rendered
from notification.rendering import TemplateRenderer
from servicekit.clock import ManualClock

NOW = datetime(2026, 8, 1, 3, 0, tzinfo=UTC)
TOWUA, LAMBUYA = "74.01.01.2006", "74.02.01.1001"


@dataclass
class FakeUnitOfWork:
    villages: dict[uuid.UUID, str] = field(default_factory=dict)
    broadcasts: list[commands.SendBroadcast] = field(default_factory=list)
    subscribers: list[tuple[str, str]] = field(default_factory=list)
    inbox: set[uuid.UUID] = field(default_factory=set)
    deliveries: dict[uuid.UUID, PlannedDelivery] = field(default_factory=dict)

    async def listed_in_region(self, learner_ids: Any, region_code: str) -> set[uuid.UUID]:
        return {i for i in learner_ids if self.villages.get(i, "").startswith(region_code)}

    async def add_broadcast(self, cmd: commands.SendBroadcast) -> Any:
        self.broadcasts.append(cmd)
        chosen = {
            i
            for i, village in self.villages.items()
            if village.startswith(cmd.audience.region_code)
            and (not cmd.audience.learner_ids or i in cmd.audience.learner_ids)
        }
        return SimpleNamespace(total=len(chosen))

    async def digest_subscribers(self, region_code: str) -> list[tuple[str, str]]:
        return self.subscribers

    async def add_inbox_message(self, event_id: uuid.UUID, *args: Any, **kwargs: Any) -> bool:
        fresh = event_id not in self.inbox
        self.inbox.add(event_id)
        return fresh

    async def add_delivery(self, planned: PlannedDelivery) -> bool:
        fresh = planned.event_id not in self.deliveries
        self.deliveries.setdefault(planned.event_id, planned)
        return fresh


def broadcast(*learner_ids: uuid.UUID, region: str = "74.01") -> commands.SendBroadcast:
    audience = Audience(region, learner_ids=learner_ids)
    return commands.SendBroadcast(uuid.uuid4(), "pembina", audience, "Ayo", "Modul 2.", NOW)


async def test_one_listed_learner_outside_the_region_refuses_the_whole_message() -> None:
    ours, theirs = uuid.uuid4(), uuid.uuid4()
    uow = FakeUnitOfWork(villages={ours: TOWUA, theirs: LAMBUYA})
    with pytest.raises(LearnerNotFound) as refused:
        await usecases.send_broadcast(broadcast(ours, theirs), uow)  # type: ignore[arg-type]
    assert refused.value.field == "learner_ids" and uow.broadcasts == []
    with pytest.raises(LearnerNotFound):  # an unknown learner: the same answer
        await usecases.send_broadcast(broadcast(uuid.uuid4()), uow)  # type: ignore[arg-type]
    job = await usecases.send_broadcast(broadcast(ours, ours), uow)  # type: ignore[arg-type]
    assert job.total == 1


async def test_a_filter_that_matches_nobody_is_refused() -> None:
    uow = FakeUnitOfWork(villages={uuid.uuid4(): LAMBUYA})
    with pytest.raises(NoRecipients):
        await usecases.send_broadcast(broadcast(), uow)  # type: ignore[arg-type]


def test_the_message_reads_as_the_coach_wrote_it_in_every_channel() -> None:
    context = {
        "title": "Ayo lanjutkan",
        "body": "Modul 2 menunggu.\nHubungi kami.",
        "region_name": "Kabupaten Kolaka",
        "full_name": "Wa Ode Sitti",
    }
    renderer = TemplateRenderer()
    inbox = renderer.render(Kind.COACHING, Channel.INBOX, context)
    assert inbox.title == "Ayo lanjutkan"
    assert (
        inbox.text.startswith("Yth. Wa Ode Sitti,") and "Modul 2 menunggu.\nHubungi" in inbox.text
    )
    assert "pembina wilayah Kabupaten Kolaka" in inbox.text
    sms = renderer.render(Kind.COACHING, Channel.SMS, context)
    assert sms.text.startswith("LMS Pamong Desa: Ayo lanjutkan.")


async def test_each_subscribed_supervisor_gets_one_email_of_a_digest() -> None:
    uow = FakeUnitOfWork(subscribers=[("camat-a", "a@kolaka.go.id"), ("camat-b", "b@kolaka.go.id")])
    context = {
        "period": "2026-W31",
        "region_code": "74.01.01",
        "region_name": "Wundulako",
        "zone": "Asia/Makassar",
        "inactive_count": 1,
        "inactive_days": 14,
        "learners": [{"full_name": "A", "village_code": TOWUA, "last_activity_at": NOW}],
    }
    digest = commands.PostDigest(uuid.uuid4(), "74.01.01", context)
    writing: dict[str, Any] = {
        "renderer": TemplateRenderer(),
        "configured": (Channel.INBOX, Channel.EMAIL),
        "clock": ManualClock(NOW),
    }
    assert await usecases.post_digest(digest, uow, **writing)  # type: ignore[arg-type]
    assert not await usecases.post_digest(digest, uow, **writing)  # type: ignore[arg-type]
    assert sorted(p.address or "" for p in uow.deliveries.values()) == [
        "a@kolaka.go.id",
        "b@kolaka.go.id",
    ]
    assert all(
        p.learner_id is None and isinstance(p.message, Rendered) for p in uow.deliveries.values()
    )
    inbox_only = {**writing, "configured": (Channel.INBOX,)}
    other = FakeUnitOfWork(subscribers=uow.subscribers)
    await usecases.post_digest(digest, other, **inbox_only)  # type: ignore[arg-type]
    assert other.deliveries == {}
