"""What the bridge's integration tests share: a real HTTPS receiver trusted through the
bridge's CA bundle, learner events of real villages put on JetStream, an endpoint registered
through the API, and a receiver's check of the Standard Webhooks signature."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from nats.js import JetStreamContext
from standardwebhooks import Webhook

import lms_contracts as c
from servicekit.testing.https import (
    Certificates,
    Received,
    Receiver,
    RunningReceiver,
    https_receiver,
    make_certificates,
)
from servicekit.testing.services import RunningService, running_service

# Sulawesi Tenggara (74): Kabupaten Kolaka (74.01) and Konawe (74.02); Sulawesi Selatan (73)
TOWUA, BENDE, NOPEMBER = "74.01.01.2006", "74.01.01.2007", "74.01.01.1001"
AWULITI = "74.02.01.2006"
BENTENG_UTARA = "73.01.01.1001"

# quick retries, so a test of minutes' worth of back-off runs in seconds
FAST = {
    "delivery_poll_seconds": 0.05,
    "retry_schedule_seconds": [0.05, 0.1, 0.2],
    "housekeeping_every_seconds": 3600.0,
}


@asynccontextmanager
async def bridge(
    database_url: str, nats_url: str, certificates: Certificates, **overrides: Any
) -> AsyncIterator[RunningService]:
    """The webhooks service on the real servers, trusting the test authority."""
    settings = {**FAST, "ca_bundle": str(certificates.ca), **overrides}
    async with running_service("webhooks", database_url, nats_url, **settings) as service:
        yield service


@asynccontextmanager
async def receiver_at(certificates: Certificates, **answer: Any) -> AsyncIterator[RunningReceiver]:
    async with https_receiver(certificates, Receiver(**answer)) as running:
        yield running


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    """A test authority and a server certificate for 127.0.0.1, trusted by the bridge."""
    return make_certificates(Path(tmp_path_factory.mktemp("tls")))


async def register(
    service: RunningService,
    url: str,
    region_code: str = "74.01",
    event_types: Iterable[str] | None = None,
    **fields: Any,
) -> tuple[dict[str, Any], str]:
    """(the endpoint as the API shows it, its signing secret)."""
    body: dict[str, Any] = {"url": url, "region_code": region_code, **fields}
    if event_types is not None:
        body["event_types"] = list(event_types)
    response = await service.client.post(
        "/v1/webhooks/endpoints", json=body, headers=service.auth("admin")
    )
    assert response.status_code == 201, response.text
    created = response.json()
    return created, created.pop("secret")


async def api(service: RunningService, method: str, path: str, **kwargs: Any) -> Any:
    response = await service.client.request(
        method, f"/v1/webhooks/endpoints{path}", headers=service.auth("admin"), **kwargs
    )
    assert response.status_code < 400, f"{method} {path}: {response.status_code} {response.text}"
    return response.json() if response.content else None


def now() -> datetime:
    return datetime.now(UTC)


async def publish(
    js: JetStreamContext, data: c.EventData, *, again: bool = False
) -> c.CloudEvent[Any]:
    """Publish as the producing service would; ``again`` sends it a second time past
    JetStream's de-duplication (a redelivery)."""
    event = c.new_event(data)
    await js.publish(c.subject_of(data), event.to_json(), headers={"Nats-Msg-Id": str(event.id)})
    if again:
        await js.publish(
            c.subject_of(data), event.to_json(), headers={"Nats-Msg-Id": f"{event.id}-again"}
        )
    return event


def lesson(learner_id: uuid.UUID, village_code: str) -> c.LessonCompleted:
    return c.LessonCompleted(
        learner_id=learner_id,
        course_id=uuid.UUID(int=1),
        course_version=1,
        lesson_id=uuid.uuid4(),
        village_code=village_code,
        completed_at=now(),
        recorded_at=now(),
    )


def registered(learner_id: uuid.UUID, village_code: str) -> c.LearnerRegistered:
    return c.LearnerRegistered(
        learner_id=learner_id,
        full_name="Wa Ode Sitti",
        position=c.Position.SEKRETARIS_DESA,
        village_code=village_code,
        registered_at=now(),
    )


def contact(learner_id: uuid.UUID, village_code: str) -> c.LearnerContactChanged:
    return c.LearnerContactChanged(
        learner_id=learner_id,
        full_name="Wa Ode Sitti",
        village_code=village_code,
        phone="+6281234567890",
        email="sitti@example.id",
        changed_at=now(),
    )


def verify(secret: str, request: Received) -> dict[str, Any]:
    """What a receiver does: check the signature (and the timestamp) with standardwebhooks;
    raises if it does not hold."""
    payload: dict[str, Any] = Webhook(secret).verify(request.body, request.headers)
    return payload


def first_accepted(requests: Iterable[Received]) -> dict[str, Received]:
    """Each webhook-id's first accepted request, in the order they were accepted."""
    found: dict[str, Received] = {}
    for request in requests:
        if request.accepted:
            found.setdefault(request.headers["webhook-id"], request)
    return found
