"""Which channels a notification goes to, and that nothing is written twice."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pytest

from notification import usecases
from notification.domain import commands
from notification.domain.model import (
    Channel,
    Kind,
    Notification,
    PlannedDelivery,
    Preferences,
    Recipient,
    Rendered,
)
from notification.rendering import TemplateRenderer, nilai, tanggal
from servicekit.clock import ManualClock

NOW = datetime(2026, 8, 1, 3, 0, tzinfo=UTC)
CLOCK = ManualClock(NOW)
ALL = (Channel.INBOX, Channel.EMAIL, Channel.SMS, Channel.WHATSAPP)


@dataclass
class FakeUnitOfWork:
    recipients: dict[uuid.UUID, Recipient] = field(default_factory=dict)
    prefs: dict[uuid.UUID, Preferences] = field(default_factory=dict)
    inbox: dict[tuple[uuid.UUID, str], Rendered] = field(default_factory=dict)
    deliveries: dict[tuple[uuid.UUID, Channel], PlannedDelivery] = field(default_factory=dict)
    course_titles: dict[tuple[uuid.UUID, uuid.UUID], str] = field(default_factory=dict)

    async def save_learner(
        self, learner_id: uuid.UUID, village_code: str, full_name: str | None, at: datetime
    ) -> None:
        known = self.recipients.setdefault(learner_id, Recipient(learner_id, village_code))
        known.village_code = village_code
        known.full_name = full_name or known.full_name

    async def save_contact(self, cmd: commands.RecordContact) -> None:
        self.recipients[cmd.learner_id].phone = cmd.phone
        self.recipients[cmd.learner_id].email = cmd.email

    async def save_enrollment(self, cmd: commands.RecordEnrollment) -> None: ...
    async def set_enrollment_state(
        self, enrollment_id: uuid.UUID, state: str, at: datetime
    ) -> None: ...
    async def touch_activity(self, learner_id: uuid.UUID, at: datetime) -> None: ...

    async def save_activity(self, learner_id: uuid.UUID, village_code: str, at: datetime) -> None:
        await self.save_learner(learner_id, village_code, None, at)

    async def course_title(self, learner_id: uuid.UUID, course_id: uuid.UUID) -> str | None:
        return self.course_titles.get((learner_id, course_id))

    async def recipient(self, learner_id: uuid.UUID) -> Recipient | None:
        return self.recipients.get(learner_id)

    async def preferences(self, learner_id: uuid.UUID) -> Preferences:
        return self.prefs.get(learner_id, Preferences())

    async def add_inbox_message(
        self,
        event_id: uuid.UUID,
        event_type: str,
        message: Rendered,
        created_at: datetime,
        **owner: Any,
    ) -> bool:
        key = (event_id, "inbox")
        if key in self.inbox:
            return False
        self.inbox[key] = message
        return True

    async def add_delivery(self, planned: PlannedDelivery) -> bool:
        key = (planned.event_id, planned.channel)
        if key in self.deliveries:
            return False
        self.deliveries[key] = planned
        return True


async def known_learner(
    uow: FakeUnitOfWork, phone: str | None = "+6281234567890", email: str | None = "a@example.id"
) -> uuid.UUID:
    learner_id = uuid.uuid4()
    await usecases.record_contact(
        commands.RecordContact(learner_id, "74.01.01.2006", "Wa Ode", phone, email, NOW), uow
    )
    return learner_id


def welcome(learner_id: uuid.UUID, kind: Kind = Kind.WELCOME) -> commands.Notify:
    context = {"course_title": "Keuangan Desa", "starts_on": None, "zone": "Asia/Makassar"}
    if kind is Kind.REMINDER:
        context = {"inactive_days": 9, "course_titles": ["Keuangan Desa"], "zone": "Asia/Makassar"}
    notification = Notification(
        uuid.uuid4(), "lms.enrollment.enrolled.v1", kind, learner_id, NOW, context
    )
    return commands.Notify(notification, "74.01.01.2006")


async def test_a_notification_goes_to_every_configured_wanted_and_reachable_channel() -> None:
    uow = FakeUnitOfWork()
    learner_id = await known_learner(uow)
    written = await usecases.notify(welcome(learner_id), uow, TemplateRenderer(), ALL, CLOCK)
    assert written == [Channel.INBOX, Channel.EMAIL, Channel.SMS]  # WhatsApp is opt-in
    email = uow.deliveries[(next(iter(uow.inbox))[0], Channel.EMAIL)].message
    assert email.html is not None and "Wa Ode" in email.text


async def test_the_same_notification_twice_writes_nothing_new() -> None:
    uow = FakeUnitOfWork()
    learner_id = await known_learner(uow)
    cmd = welcome(learner_id)
    await usecases.notify(cmd, uow, TemplateRenderer(), ALL, CLOCK)
    assert await usecases.notify(cmd, uow, TemplateRenderer(), ALL, CLOCK) == []
    assert len(uow.inbox) == 1 and len(uow.deliveries) == 2


async def test_missing_contacts_unconfigured_channels_and_preferences_narrow_the_channels() -> None:
    uow = FakeUnitOfWork()
    no_phone = await known_learner(uow, phone=None)
    assert await usecases.notify(welcome(no_phone), uow, TemplateRenderer(), ALL, CLOCK) == [
        Channel.INBOX,
        Channel.EMAIL,
    ]
    learner_id = await known_learner(uow)
    inbox_only = (Channel.INBOX,)
    assert await usecases.notify(
        welcome(learner_id), uow, TemplateRenderer(), inbox_only, CLOCK
    ) == [Channel.INBOX]
    uow.prefs[learner_id] = Preferences(email=False, sms=False, whatsapp=True)
    assert await usecases.notify(welcome(learner_id), uow, TemplateRenderer(), ALL, CLOCK) == [
        Channel.INBOX,
        Channel.WHATSAPP,
    ]
    unknown = uuid.uuid4()
    assert await usecases.notify(welcome(unknown), uow, TemplateRenderer(), ALL, CLOCK) == [
        Channel.INBOX
    ]


async def test_learners_who_opted_out_of_reminders_get_none_on_any_channel() -> None:
    uow = FakeUnitOfWork()
    learner_id = await known_learner(uow)
    uow.prefs[learner_id] = Preferences(reminders=False)
    assert (
        await usecases.notify(
            welcome(learner_id, Kind.REMINDER), uow, TemplateRenderer(), ALL, CLOCK
        )
        == []
    )
    assert uow.inbox == {} and uow.deliveries == {}


def graded(learner_id: uuid.UUID, course_id: uuid.UUID) -> commands.NotifyGrade:
    context = {"score": 85.5, "pass_score": 70.0, "attempt_number": 1, "zone": "Asia/Makassar"}
    notification = Notification(
        uuid.uuid4(), "lms.assessment.passed.v1", Kind.PASSED, learner_id, NOW, context
    )
    return commands.NotifyGrade(notification, "74.01.01.2006", course_id)


async def test_a_result_names_the_course_of_the_enrollment_learnt_earlier() -> None:
    uow = FakeUnitOfWork()
    learner_id, course_id = await known_learner(uow), uuid.uuid4()
    uow.course_titles[(learner_id, course_id)] = "Keuangan Desa"
    await usecases.notify_grade(graded(learner_id, course_id), uow, TemplateRenderer(), ALL, CLOCK)
    [message] = uow.inbox.values()
    assert "Keuangan Desa" in message.text and "85,5" in message.text


async def test_a_result_for_a_course_never_learnt_says_the_title_is_unavailable() -> None:
    uow = FakeUnitOfWork()
    learner_id = await known_learner(uow)
    await usecases.notify_grade(
        graded(learner_id, uuid.uuid4()), uow, TemplateRenderer(), ALL, CLOCK
    )
    [message] = uow.inbox.values()
    assert "(judul kursus tidak tersedia)" in message.text


async def test_a_certificate_message_links_to_its_verification_page() -> None:
    uow = FakeUnitOfWork()
    learner_id = await known_learner(uow)
    context = {"course_title": "Keuangan Desa", "score": 85.5, "zone": "Asia/Makassar"}
    notification = Notification(
        uuid.uuid4(), "lms.enrollment.certificate-issued.v1", Kind.CERTIFICATE, learner_id, NOW
    )
    cmd = commands.NotifyCertificate(
        replace(notification, context=context), "74.01.01.2006", "ABCD234567"
    )
    written = await usecases.notify_certificate(
        cmd, uow, TemplateRenderer(), ALL, CLOCK, "https://v.example/{}".format
    )
    assert written == [Channel.INBOX, Channel.EMAIL, Channel.SMS]
    [message] = uow.inbox.values()
    assert "https://v.example/ABCD234567" in message.text
    assert all(d.due_at == NOW for d in uow.deliveries.values())


CONTEXTS: dict[Kind, dict[str, Any]] = {
    Kind.WELCOME: {"course_title": "K", "starts_on": NOW},
    Kind.PRE_TEST_RESULT: {"course_title": "K", "score": 40.0},
    Kind.PASSED: {"course_title": "K", "score": 80.0, "pass_score": 70.0},
    Kind.FAILED: {"course_title": "K", "score": 50.0, "pass_score": 70.0, "attempt_number": 2},
    Kind.CERTIFICATE: {
        "course_title": "K",
        "score": 80.0,
        "verification_code": "X",
        "verification_url": "http://v/X",
    },
    Kind.WITHDRAWN: {"course_title": "K", "reason": None},
    Kind.CERTIFICATE_REVOKED: {"course_title": "K", "verification_code": "X", "reason": "data"},
    Kind.EXTENSION_GRANTED: {
        "course_title": "K",
        "extra_attempts": 0,
        "extra_minutes": 15,
        "reason": "listrik padam",
    },
    Kind.VERSION_CHANGED: {"course_title": "K", "course_version": 2, "from_version": 1},
    Kind.REMINDER: {"inactive_days": 9, "course_titles": ["K"]},
    Kind.DIGEST: {
        "period": "2026-W10",
        "region_code": "74.01",
        "region_name": "Kabupaten Kolaka",
        "inactive_count": 3,
        "inactive_days": 14,
        "learners": [{"full_name": "A", "village_code": "74.01.01.2006", "last_activity_at": NOW}],
    },
    Kind.COACHING: {"title": "Ayo", "body": "Modul 2.", "region_name": "Kabupaten Kolaka"},
}


@pytest.mark.parametrize("kind", list(Kind))
@pytest.mark.parametrize("channel", ALL)
def test_every_kind_renders_for_every_channel_with_a_title_and_plain_text(
    kind: Kind, channel: Channel
) -> None:
    rendered = TemplateRenderer().render(
        kind, channel, {"full_name": "Wa Ode", "zone": "Asia/Jakarta", **CONTEXTS[kind]}
    )
    assert rendered.title and rendered.text
    assert "{{" not in rendered.text and "None" not in rendered.text


def test_dates_and_scores_are_written_the_indonesian_way() -> None:
    assert tanggal(datetime(2026, 8, 16, 18, 0, tzinfo=UTC), "Asia/Jakarta") == "17 Agustus 2026"
    assert nilai(72.5) == "72,5" and nilai(85.0) == "85"


def test_html_e_mail_escapes_what_learners_typed() -> None:
    rendered = TemplateRenderer().render(
        Kind.WELCOME,
        Channel.EMAIL,
        {"full_name": "<b>x</b>", "zone": "Asia/Jakarta", **CONTEXTS[Kind.WELCOME]},
    )
    assert rendered.html is not None and "&lt;b&gt;x&lt;/b&gt;" in rendered.html
