"""E-mail and SMS delivery to real local servers: once per event and channel, retries with
backoff on a failing channel while the others deliver, quiet hours, and two workers at once."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from nats.js import JetStreamContext

from notification.delivery import DeliveryWorker
from notification.dependencies import NotificationDependencies
from notification.domain.model import Channel
from notification.main import Settings, dependencies
from servicekit.clock import ManualClock
from servicekit.testing.services import RunningService, running_service
from servicekit.testing.waiting import eventually

from .events import certificate, contact, enrolled, publish, registered
from .servers import Gateway, SmtpServer, gateway_server, smtp_server

pytestmark = pytest.mark.integration
SECRET = "gateway-shared-secret"


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpServer]:
    async with smtp_server() as server:
        yield server


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    async with gateway_server() as server:
        yield server


def channel_settings(smtp: SmtpServer, gateway: Gateway, **overrides: Any) -> dict[str, Any]:
    return {
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp.port,
        "smtp_tls": "none",
        "smtp_from": "LMS Pamong Desa <no-reply@pamongdesa.id>",
        "gateway_url": gateway.url,
        "gateway_auth_token": "gateway-token",
        "gateway_signing_secret": SECRET,
        "run_scheduler": False,
        **overrides,
    }


def on_clock(clock: ManualClock, settings: dict[str, Any]) -> NotificationDependencies:
    """The service's own senders (to the local servers) on a clock the test moves."""
    return replace(dependencies(Settings(**settings)), clock=clock)


async def deliveries(service: RunningService, query: str = "") -> list[dict[str, Any]]:
    response = await service.client.get(
        f"/v1/admin/deliveries{query}", headers=service.auth("admin")
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def learner_enrolled(js: JetStreamContext, **contact_changes: Any) -> uuid.UUID:
    learner_id = uuid.uuid4()
    await publish(js, registered(learner_id))
    await publish(js, contact(learner_id, **contact_changes))
    await publish(js, enrolled(learner_id))
    return learner_id


async def test_email_and_sms_reach_real_servers_once_per_event_under_duplicate_delivery(
    database_url: str,
    nats_url: str,
    jetstream: JetStreamContext,
    smtp: SmtpServer,
    gateway: Gateway,
) -> None:
    settings = channel_settings(
        smtp,
        gateway,
        quiet_hours_start="00:00",
        quiet_hours_end="00:00",
        delivery_poll_seconds=0.05,
    )
    async with running_service("notification", database_url, nats_url, **settings) as service:
        learner_id = uuid.uuid4()
        await publish(jetstream, registered(learner_id), again=True)
        await publish(jetstream, contact(learner_id), again=True)
        enrollment = enrolled(learner_id)
        await publish(jetstream, enrollment, again=True)
        await publish(jetstream, certificate(enrollment), again=True)

        sent = await eventually(
            lambda: deliveries(service, "?state=sent"), lambda items: len(items) == 4
        )
        await eventually(
            lambda: jetstream.consumer_info("LMS", "notification"),
            lambda info: info.num_pending == 0 and info.num_ack_pending == 0,
        )
        assert sorted(d["channel"] for d in sent) == ["email", "email", "sms", "sms"]
        assert await deliveries(service, "?state=pending") == []

    assert len(smtp.received) == 2 and len(gateway.received) == 2
    welcome = next(m for m in smtp.received if "Selamat datang" in m.message["Subject"])
    assert welcome.rcpt_to == ["sitti@example.id"]
    assert welcome.message["To"] == "sitti@example.id"
    assert welcome.message["Subject"] == "Selamat datang di kursus Tata Kelola Keuangan Desa"
    plain = welcome.message.get_body(("plain",))
    html = welcome.message.get_body(("html",))
    assert plain is not None and "17 Agustus 2026" in plain.get_content()
    assert html is not None and "<strong>Tata Kelola Keuangan Desa</strong>" in html.get_content()

    sms = next(r for r in gateway.received if "terdaftar" in r.json["text"])
    assert sms.json["channel"] == "sms" and sms.json["to"] == "+6281234567890"
    assert sms.headers["Authorization"] == "Bearer gateway-token"
    expected = hmac.new(SECRET.encode(), sms.body, hashlib.sha256).hexdigest()
    assert sms.headers["X-Signature"] == f"sha256={expected}"
    assert sms.headers["Idempotency-Key"] == sms.json["message_id"]


async def test_a_failing_channel_is_retried_with_backoff_then_recorded_while_sms_still_delivers(
    database_url: str,
    nats_url: str,
    jetstream: JetStreamContext,
    smtp: SmtpServer,
    gateway: Gateway,
) -> None:
    smtp.data_reply = "451 mailbox busy, try later"
    gateway.statuses = [503]
    settings = channel_settings(
        smtp,
        gateway,
        run_delivery_worker=False,
        quiet_hours_start="00:00",
        quiet_hours_end="00:00",
        delivery_max_attempts=3,
        delivery_retry_base_seconds=30,
        delivery_retry_cap_seconds=60,
    )
    clock = ManualClock()
    deps = on_clock(clock, settings)
    async with running_service(
        "notification", database_url, nats_url, deps=deps, **settings
    ) as service:
        await learner_enrolled(jetstream)
        await eventually(lambda: deliveries(service, "?state=pending"), lambda d: len(d) == 2)
        clock.advance(timedelta(seconds=1))
        worker = DeliveryWorker(service.runtime)

        async def round_() -> tuple[int, int]:
            return await worker.run_once(Channel.EMAIL), await worker.run_once(Channel.SMS)

        assert await round_() == (1, 1)  # both fail: 451 and 503
        clock.advance(timedelta(seconds=10))
        assert await round_() == (0, 0)  # backing off
        clock.advance(timedelta(seconds=21))
        assert await round_() == (1, 1)  # e-mail fails again; SMS goes through
        [sms] = await deliveries(service, "?channel=sms")
        assert sms["state"] == "sent" and sms["attempts"] == 2
        clock.advance(timedelta(seconds=59))
        assert await round_() == (0, 0)  # second delay is 60 s (capped)
        clock.advance(timedelta(seconds=2))
        assert await round_() == (1, 0)

        [failed] = await deliveries(service, "?state=failed")
        assert failed["channel"] == "email" and failed["attempts"] == 3
        assert "451" in failed["last_error"]
        assert len(smtp.received) == 0 and len(gateway.received) == 2

        learner = service.auth("learner", learner_id=uuid.uuid4())
        forbidden = await service.client.get("/v1/admin/deliveries", headers=learner)
        assert forbidden.status_code == 403
        bad = await service.client.get(
            "/v1/admin/deliveries?state=lost", headers=service.auth("admin")
        )
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "state"

        smtp.data_reply = None
        retried = await service.client.post(
            f"/v1/admin/deliveries/{failed['delivery_id']}/retry", headers=service.auth("admin")
        )
        assert retried.status_code == 200 and retried.json()["state"] == "pending"
        assert await worker.run_once(Channel.EMAIL) == 1
        await worker.close()
        assert len(smtp.received) == 1
        assert (await deliveries(service, "?state=failed")) == []


async def test_quiet_hours_defer_sms_to_morning_in_the_learners_zone_while_email_goes_now(
    database_url: str,
    nats_url: str,
    jetstream: JetStreamContext,
    smtp: SmtpServer,
    gateway: Gateway,
) -> None:
    settings = channel_settings(smtp, gateway, run_delivery_worker=False)
    clock = ManualClock()
    deps = on_clock(clock, settings)
    async with running_service(
        "notification", database_url, nats_url, deps=deps, **settings
    ) as service:
        learner_id = await learner_enrolled(jetstream)
        await eventually(lambda: deliveries(service, "?state=pending"), lambda d: len(d) == 2)
        # Kolaka is in WITA (UTC+8): 15:30 UTC tomorrow is 23:30 there, inside 21:00-07:00
        tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()
        clock.set(datetime(tomorrow.year, tomorrow.month, tomorrow.day, 15, 30, tzinfo=UTC))
        worker = DeliveryWorker(service.runtime)
        assert await worker.run_once(Channel.EMAIL) == 1
        assert await worker.run_once(Channel.SMS) == 1
        [sms] = await deliveries(service, "?channel=sms")
        morning = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 23, 0, tzinfo=UTC)
        assert sms["state"] == "pending" and sms["attempts"] == 0
        assert datetime.fromisoformat(sms["next_attempt_at"]) == morning  # 07:00 WITA
        assert len(smtp.received) == 1 and gateway.received == []

        clock.set(morning - timedelta(minutes=1))
        assert await worker.run_once(Channel.SMS) == 0
        clock.set(morning)
        assert await worker.run_once(Channel.SMS) == 1
        assert len(gateway.received) == 1

        own = service.auth("learner", learner_id=learner_id)
        shown = (await service.client.get("/v1/preferences", headers=own)).json()
        assert shown["timezone"] == "Asia/Makassar" and shown["timezone_label"] == "WITA"
        assert shown["quiet_hours"] == {"start": "21:00:00", "end": "07:00:00"}
        await worker.close()


async def test_two_delivery_workers_on_one_database_send_each_message_once(
    database_url: str,
    nats_url: str,
    jetstream: JetStreamContext,
    smtp: SmtpServer,
    gateway: Gateway,
) -> None:
    settings = channel_settings(
        smtp,
        gateway,
        run_delivery_worker=False,
        quiet_hours_start="00:00",
        quiet_hours_end="00:00",
        delivery_batch_size=3,
    )
    async with running_service("notification", database_url, nats_url, **settings) as service:
        for _ in range(12):
            await learner_enrolled(jetstream, email=None)
        await eventually(lambda: deliveries(service, "?state=pending"), lambda d: len(d) == 12)
        workers = [DeliveryWorker(service.runtime) for _ in range(2)]
        handled = [0, 0]
        while True:
            counts = await asyncio.gather(*(w.run_once(Channel.SMS) for w in workers))
            handled = [a + b for a, b in zip(handled, counts, strict=True)]
            if sum(counts) == 0:
                break
        for worker in workers:
            await worker.close()
    assert sum(handled) == 12 and all(handled)
    ids = [r.json["message_id"] for r in gateway.received]
    assert len(ids) == 12 and len(set(ids)) == 12


async def test_preferences_turn_channels_off_for_later_events_and_bad_input_names_the_field(
    database_url: str,
    nats_url: str,
    jetstream: JetStreamContext,
    smtp: SmtpServer,
    gateway: Gateway,
) -> None:
    settings = channel_settings(smtp, gateway, run_delivery_worker=False)
    async with running_service("notification", database_url, nats_url, **settings) as service:
        learner_id = await learner_enrolled(jetstream)
        own = service.auth("learner", learner_id=learner_id)
        await eventually(lambda: deliveries(service, "?state=pending"), lambda d: len(d) == 2)
        shown = (await service.client.get("/v1/preferences", headers=own)).json()
        assert shown["channels"] == {"inbox": True, "email": True, "sms": True, "whatsapp": False}
        assert shown["available_channels"] == ["inbox", "email", "sms", "whatsapp"]

        changed = await service.client.put(
            "/v1/preferences",
            json={
                "channels": {"sms": False, "whatsapp": True},
                "quiet_hours": {"start": "22:00", "end": "05:30"},
            },
            headers=own,
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["channels"] == {
            "inbox": True,
            "email": True,
            "sms": False,
            "whatsapp": True,
        }
        assert changed.json()["quiet_hours"] == {"start": "22:00:00", "end": "05:30:00"}
        again = (await service.client.get("/v1/preferences", headers=own)).json()
        assert again == changed.json()

        await publish(jetstream, enrolled(learner_id, title="Kursus Kedua"))
        later = await eventually(
            lambda: deliveries(service, f"?learner_id={learner_id}"), lambda d: len(d) == 4
        )
        assert sorted(d["channel"] for d in later) == ["email", "email", "sms", "whatsapp"]

        for body, field in [
            ({"channels": {"inbox": False}}, "channels.inbox"),
            ({"quiet_hours": {"start": "25:00", "end": "07:00"}}, "quiet_hours.start"),
            ({"reminders": "sometimes"}, "reminders"),
            ({"colour": "blue"}, "colour"),
        ]:
            bad = await service.client.put("/v1/preferences", json=body, headers=own)
            assert bad.status_code == 422, body
            assert bad.json()["errors"][0]["field"] == field
        admin = await service.client.get("/v1/preferences", headers=service.auth("admin"))
        assert admin.status_code == 403
        assert (await service.client.get("/v1/preferences")).status_code == 401
