"""What an operator sees of a service whose infrastructure misbehaves: /readyz and /metrics of
a real service (content: it consumes and publishes) served over HTTP, against a nats-server
that is paused (SIGSTOP: connected, answering nothing) and a durable consumer that is deleted
under it, and one access line per request in the log."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import httpx
import pytest
from nats.js import JetStreamContext

from lms_contracts import LessonCompleted, new_event, subject_of
from servicekit.observability import JsonFormatter
from servicekit.servers import NatsServer
from servicekit.testing.services import RunningService, running_service
from servicekit.testing.waiting import eventually
from servicekit.topology import STREAM, TopologySettings, apply_topology

pytestmark = pytest.mark.integration


@pytest.fixture
async def content(
    database_url: str, nats_server: NatsServer, jetstream: JetStreamContext
) -> AsyncIterator[RunningService]:
    async with running_service(
        "content", database_url, nats_server.url, over_http=True, consumer_batch_size=10
    ) as service:
        yield service


def lesson_completed() -> LessonCompleted:
    now = datetime.now(UTC)
    return LessonCompleted(
        learner_id=uuid.uuid4(),
        course_id=uuid.uuid4(),
        course_version=1,
        lesson_id=uuid.uuid4(),
        village_code="74.01.01.2006",
        completed_at=now,
        recorded_at=now,
    )


def samples(exposition: str, name: str) -> dict[str, float]:
    """The samples of one metric: labels text -> value."""
    found = re.findall(rf"^{name}(\{{[^}}]*\}})? (\S+)$", exposition, flags=re.MULTILINE)
    return {labels: float(value) for labels, value in found}


async def readiness(service: RunningService) -> httpx.Response:
    return await service.client.get("/readyz")


async def test_readiness_says_nats_is_unresponsive_while_nats_server_is_paused(
    content: RunningService, nats_server: NatsServer
) -> None:
    ready = await eventually(
        lambda: readiness(content), lambda r: r.json()["checks"]["consumer"]["state"] == "running"
    )
    assert ready.json()["checks"]["nats"] == "connected"
    assert ready.json()["checks"]["consumer"]["server"]["pending"] >= 0

    await asyncio.to_thread(nats_server.pause)
    try:
        started = asyncio.get_running_loop().time()
        paused = await readiness(content)
        answered_in = asyncio.get_running_loop().time() - started
        # still ready (ADR 11: every endpoint works, the outbox keeps the events) but said
        checks = paused.json()["checks"]
        assert paused.status_code == 200
        assert checks["nats"] == "unresponsive"
        assert checks["consumer"]["server"].startswith("unreachable")
        assert answered_in < 5  # the probe's own timeout: a bounded round trip, not a hang
        metrics = (await content.client.get("/metrics")).text
        assert samples(metrics, "lms_nats_connected") == {"": 0.0}
        assert samples(metrics, "lms_check_ok")['{check="nats"}'] == 0.0
        assert samples(metrics, "lms_consumer_running")['{consumer="content"}'] == 0.0
    finally:
        await asyncio.to_thread(nats_server.unpause)

    back = await eventually(
        lambda: readiness(content), lambda r: r.json()["checks"]["nats"] == "connected"
    )
    assert back.status_code == 200
    metrics = (await content.client.get("/metrics")).text
    assert samples(metrics, "lms_nats_connected") == {"": 1.0}


async def test_readiness_and_metrics_tell_a_consumer_whose_durable_was_deleted(
    content: RunningService, jetstream: JetStreamContext
) -> None:
    await eventually(
        lambda: readiness(content), lambda r: r.json()["checks"]["consumer"]["state"] == "running"
    )
    await jetstream.delete_consumer(STREAM, "content")
    lost = await eventually(
        lambda: readiness(content), lambda r: r.json()["checks"]["consumer"]["state"] != "running"
    )
    assert lost.status_code == 200  # its messages wait on the server: no pod is taken out
    consumer = lost.json()["checks"]["consumer"]
    assert consumer["state"] == "paused" and "pull requests refused" in json.dumps(consumer)
    metrics = (await content.client.get("/metrics")).text
    assert samples(metrics, "lms_check_ok")['{check="consumer"}'] == 0.0
    assert samples(metrics, "lms_consumer_paused")['{consumer="content"}'] == 1.0

    # the durable is back (the topology job ran again): events published meanwhile are applied
    await apply_topology(jetstream, TopologySettings(ack_wait_seconds=5.0))
    for _ in range(5):
        event = new_event(lesson_completed())
        await jetstream.publish(subject_of(event.data), event.to_json())
    caught_up = await eventually(
        lambda: readiness(content),
        lambda r: r.json()["checks"]["consumer"].get("state") == "running"
        and r.json()["checks"]["consumer"]["server"]
        == {
            "pending": 0,
            "ack_pending": 0,
            "redelivered": 0,
        },
        timeout=30,
    )
    assert caught_up.status_code == 200
    metrics = (await content.client.get("/metrics")).text
    assert samples(metrics, "lms_consumer_pending_messages") == {'{consumer="content"}': 0.0}
    assert samples(metrics, "lms_consumer_ack_pending_messages") == {'{consumer="content"}': 0.0}
    assert samples(metrics, "lms_check_ok")['{check="consumer"}'] == 1.0


@pytest.fixture
def access_lines() -> Iterator[list[dict[str, object]]]:
    lines: list[dict[str, object]] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(json.loads(JsonFormatter().format(record)))

    handler = Collect()
    logger = logging.getLogger("lms.access")
    logger.addHandler(handler)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)


async def test_one_access_line_per_request_with_the_route_template_and_no_personal_data(
    content: RunningService, access_lines: list[dict[str, object]]
) -> None:
    token = content.token("admin", subject="wa-ode-sitti@kolaka")
    course = "0b6f2c5e-58b4-4b8c-9d0c-2b1c3e1f4a55"
    response = await content.client.get(
        f"/v1/courses/{course}?email=sitti@example.id&token={token}",
        headers={"Authorization": f"Bearer {token}", "X-Correlation-Id": "kolaka-ops-42"},
    )
    assert response.status_code == 404
    await content.client.get("/no/such/path?phone=0812")

    first, unmatched = await eventually(
        lambda: asyncio.sleep(0, access_lines), lambda x: len(x) >= 2
    )
    assert first["route"] == "/v1/courses/{course_id}"
    assert first["method"] == "GET" and first["status"] == 404
    assert first["correlation_id"] == "kolaka-ops-42"
    assert isinstance(first["duration_ms"], float) and first["duration_ms"] >= 0
    assert re.fullmatch(r"[0-9a-f]{16}", str(first["principal"]))
    assert unmatched["route"] == "unmatched" and "principal" not in unmatched
    text = json.dumps(access_lines)
    for personal in (course, "sitti@example.id", "wa-ode-sitti", token, "0812"):
        assert personal not in text
