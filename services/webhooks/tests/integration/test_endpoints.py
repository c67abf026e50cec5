"""An endpoint's life: disabled and caught up, its secret rotated, replayed from a point in
time, its dead letters listed and sent again, a redirect not followed."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

import pytest
from nats.js import JetStreamContext
from standardwebhooks import WebhookVerificationError

from servicekit.clock import ManualClock
from servicekit.testing.https import Certificates, Received, RunningReceiver
from servicekit.testing.services import RunningService
from servicekit.testing.waiting import eventually
from webhooks.main import Settings, dependencies

from .conftest import (
    BENDE,
    FAST,
    TOWUA,
    api,
    bridge,
    first_accepted,
    lesson,
    publish,
    receiver_at,
    register,
    verify,
)

pytestmark = pytest.mark.integration


def accepted_ids(receiver: RunningReceiver) -> list[str]:
    return list(first_accepted(receiver.receiver.received))


async def counts(service: RunningService, endpoint_id: str) -> dict[str, int]:
    shown = await api(service, "GET", f"/{endpoint_id}")
    return dict(shown["deliveries"])


async def test_a_disabled_endpoint_keeps_its_events_and_catches_up_in_order_when_enabled(
    jetstream: JetStreamContext, database_url: str, nats_url: str, certificates: Certificates
) -> None:
    clock = ManualClock()
    settings = {**FAST, "ca_bundle": str(certificates.ca)}
    deps = replace(dependencies(Settings(**settings)), clock=clock)
    async with (
        receiver_at(certificates) as receiver,
        bridge(database_url, nats_url, certificates, deps=deps) as service,
    ):
        endpoint, _ = await register(service, receiver.url, "74", enabled=False)
        endpoint_id = endpoint["endpoint_id"]
        sitti, andi = uuid.uuid4(), uuid.uuid4()
        order: dict[uuid.UUID, list[str]] = {sitti: [], andi: []}
        for _ in range(3):
            for learner_id, village in ((sitti, TOWUA), (andi, BENDE)):
                event = await publish(jetstream, lesson(learner_id, village))
                order[learner_id].append(str(event.id))
        await eventually(lambda: counts(service, endpoint_id), lambda n: n["pending"] == 6)
        assert receiver.receiver.received == []

        clock.advance(timedelta(hours=100))  # disabled for longer than the retry window
        await api(service, "PATCH", f"/{endpoint_id}", json={"enabled": True})
        await eventually(lambda: counts(service, endpoint_id), lambda n: n["delivered"] == 6)
        ids = accepted_ids(receiver)
        for learner_ids in order.values():
            assert [i for i in ids if i in learner_ids] == learner_ids
        assert (await counts(service, endpoint_id))["dead"] == 0


async def test_a_rotated_secret_signs_beside_the_old_one_until_the_old_one_expires(
    jetstream: JetStreamContext, database_url: str, nats_url: str, certificates: Certificates
) -> None:
    async with (
        receiver_at(certificates) as receiver,
        bridge(database_url, nats_url, certificates) as service,
    ):
        endpoint, first = await register(service, receiver.url, "74.01")
        path = f"/{endpoint['endpoint_id']}"
        learner_id = uuid.uuid4()

        async def delivered_next() -> Received:
            before = len(receiver.receiver.received)
            await publish(jetstream, lesson(learner_id, TOWUA))
            await eventually(lambda: _count(receiver), lambda n: n > before)
            return receiver.receiver.received[-1]

        verify(first, await delivered_next())
        second = (await api(service, "POST", f"{path}/secret/rotate", json={}))["secret"]
        overlapping = await delivered_next()
        assert len(overlapping.headers["webhook-signature"].split(" ")) == 2
        verify(first, overlapping)
        verify(second, overlapping)

        rotated = await api(
            service, "POST", f"{path}/secret/rotate", json={"previous_expire_in_hours": 0}
        )
        third = rotated["secret"]
        alone = await delivered_next()
        verify(third, alone)
        for old in (first, second):
            with pytest.raises(WebhookVerificationError):
                verify(old, alone)

        shown = await service.client.get(
            f"/v1/webhooks/endpoints{path}", headers=service.auth("admin")
        )
        listed = await service.client.get("/v1/webhooks/endpoints", headers=service.auth("admin"))
        assert len(shown.json()["secrets"]) == 3
        for secret in (first, second, third):
            for body in (shown.text, listed.text):
                assert secret not in body and secret.removeprefix("whsec_") not in body


async def _count(receiver: RunningReceiver) -> int:
    return len(receiver.receiver.received)


async def test_a_replay_sends_the_events_since_a_time_again_with_their_ids_and_backfills_a_new_endpoint(
    jetstream: JetStreamContext, database_url: str, nats_url: str, certificates: Certificates
) -> None:
    async with (
        receiver_at(certificates) as receiver,
        bridge(database_url, nats_url, certificates) as service,
    ):
        first, _ = await register(service, f"{receiver.url}/first", "74.01")
        learner_id = uuid.uuid4()
        events = [await publish(jetstream, lesson(learner_id, TOWUA)) for _ in range(3)]
        await eventually(lambda: _count(receiver), lambda n: n == 3)
        # a delivery still being settled is left to its own attempt by a replay
        await eventually(
            lambda: counts(service, first["endpoint_id"]), lambda n: n.get("delivered") == 3
        )

        since = events[1].time.isoformat()
        replayed = await api(
            service, "POST", f"/{first['endpoint_id']}/replay", json={"since": since}
        )
        assert replayed == {"queued": 2}
        await eventually(lambda: _count(receiver), lambda n: n == 5)
        again = [r.headers["webhook-id"] for r in receiver.receiver.received[3:]]
        assert again == [str(e.id) for e in events[1:]]
        assert receiver.receiver.received[3].body == receiver.receiver.received[1].body

        late, secret = await register(service, f"{receiver.url}/late", "74")
        backfill = await api(
            service,
            "POST",
            f"/{late['endpoint_id']}/replay",
            json={"since": events[0].time.isoformat(), "until": events[2].time.isoformat()},
        )
        assert backfill == {"queued": 3}
        await eventually(lambda: _count(receiver), lambda n: n == 8)
        late_ones = [r for r in receiver.receiver.received if r.path == "/late"]
        assert [r.headers["webhook-id"] for r in late_ones] == [str(e.id) for e in events]
        assert all(verify(secret, r) for r in late_ones)

        backwards = await service.client.post(
            f"/v1/webhooks/endpoints/{late['endpoint_id']}/replay",
            json={"since": events[2].time.isoformat(), "until": events[0].time.isoformat()},
            headers=service.auth("admin"),
        )
        assert backwards.status_code == 422
        assert backwards.json()["errors"][0]["field"] == "until"


async def test_deliveries_not_accepted_within_the_window_become_dead_letters_and_are_sent_again(
    jetstream: JetStreamContext, database_url: str, nats_url: str, certificates: Certificates
) -> None:
    async with (
        receiver_at(certificates, status=500) as receiver,
        bridge(database_url, nats_url, certificates, retry_window_hours=0.5 / 3600) as service,
    ):
        endpoint, secret = await register(service, receiver.url, "74.01")
        path = f"/{endpoint['endpoint_id']}"
        sitti, andi = uuid.uuid4(), uuid.uuid4()
        sent = [
            await publish(jetstream, lesson(sitti, TOWUA)),
            await publish(jetstream, lesson(sitti, TOWUA)),
            await publish(jetstream, lesson(andi, BENDE)),
        ]
        dead = await eventually(
            lambda: api(service, "GET", f"{path}/dead-letters"),
            lambda page: len(page["items"]) == 3,
        )
        assert {d["event_id"] for d in dead["items"]} == {str(e.id) for e in sent}
        assert all(d["last_status_code"] == 500 for d in dead["items"])
        assert all(d["last_error"].startswith("HTTP 500") for d in dead["items"])
        oldest = next(d for d in dead["items"] if d["event_id"] == str(sent[0].id))
        detail = await api(service, "GET", f"{path}/deliveries/{oldest['delivery_id']}")
        assert len(detail["attempts_log"]) >= 2 and detail["status"] == "dead"

        receiver.receiver.status = 204
        redelivered = await api(
            service, "POST", f"{path}/dead-letters/{oldest['delivery_id']}/redeliver"
        )
        assert redelivered["status"] == "pending"
        await eventually(lambda: _accepted_count(receiver), lambda n: n == 1)
        again = await service.client.post(
            f"/v1/webhooks/endpoints{path}/dead-letters/{oldest['delivery_id']}/redeliver",
            headers=service.auth("admin"),
        )
        assert again.status_code == 409  # pending or delivered now: only dead letters go again
        assert again.json()["code"] == "not_dead_lettered"
        rest = await api(service, "POST", f"{path}/dead-letters/redeliver", json={})
        assert rest == {"queued": 2}
        await eventually(lambda: _accepted_count(receiver), lambda n: n == 3)
        accepted = first_accepted(receiver.receiver.received)
        assert set(accepted) == {str(e.id) for e in sent}
        assert all(verify(secret, r) for r in accepted.values())
        assert (await api(service, "GET", f"{path}/dead-letters"))["items"] == []


async def _accepted_count(receiver: RunningReceiver) -> int:
    return len(first_accepted(receiver.receiver.received))


async def test_a_redirect_is_not_followed(
    jetstream: JetStreamContext, database_url: str, nats_url: str, certificates: Certificates
) -> None:
    async with (
        receiver_at(certificates, status=302) as receiver,
        bridge(database_url, nats_url, certificates) as service,
    ):
        receiver.receiver.location = f"{receiver.url}/elsewhere"
        endpoint, _ = await register(service, f"{receiver.url}/moved", "74.01")
        await publish(jetstream, lesson(uuid.uuid4(), TOWUA))
        log = await eventually(
            lambda: api(service, "GET", f"/{endpoint['endpoint_id']}/deliveries"),
            lambda page: bool(page["items"]) and page["items"][0]["attempts"] >= 2,
        )
        assert "redirects are not followed" in log["items"][0]["last_error"]
        assert {r.path for r in receiver.receiver.received} == {"/moved"}
