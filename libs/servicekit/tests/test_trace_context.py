"""A request's correlation id and trace context travel with what it causes: from the HTTP
request (``X-Correlation-Id``, W3C ``traceparent``) into the CloudEvent it writes through the
outbox (``correlationid``, and ``traceparent`` as the CloudEvents distributed-tracing
extension), into every log line of a consumer that applies it, and into the events that
consumer writes in turn. With tracing on, the request, the outbox write, the relay's publish
and the consumer's apply are spans of one trace.

Real enrollment (registering a village official) on real PostgreSQL and nats-server; a
consumer composed as every service's, on a database of its own.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from nats.js import JetStreamContext
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import MetaData, select

from lms_contracts import (
    CloudEvent,
    LearnerRegistered,
    LessonCompleted,
    new_event,
    parse_event,
    subject_of,
)
from servicekit.consumer import Consumer, ConsumerOptions, Subscription
from servicekit.database import Database, Transaction, make_engine
from servicekit.inbox import Inbox
from servicekit.observability import JsonFormatter
from servicekit.outbox import Outbox
from servicekit.tables import plumbing_tables
from servicekit.testing.services import RunningService, running_service
from servicekit.testing.waiting import eventually
from servicekit.tracing import Tracing, trace_id_of

pytestmark = pytest.mark.integration
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
TOWUA = "74.01.01.2006"
log = logging.getLogger("welcome")
metadata = MetaData()
outbox_table, inbox_table, _ = plumbing_tables(metadata)


@pytest.fixture
def databases(make_database: Any) -> dict[str, str]:
    return {"enrollment": make_database("enrollment"), "welcome": make_database("welcome")}


@pytest.fixture
async def enrollment(
    databases: dict[str, str], nats_url: str, jetstream: JetStreamContext
) -> AsyncIterator[RunningService]:
    async with running_service("enrollment", databases["enrollment"], nats_url) as service:
        yield service


@pytest.fixture
def log_lines() -> Iterator[list[dict[str, Any]]]:
    lines: list[dict[str, Any]] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(json.loads(JsonFormatter().format(record)))

    handler = Collect()
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        yield lines
    finally:
        log.removeHandler(handler)


async def register(enrollment: RunningService, **headers: str) -> str:
    response = await enrollment.client.post(
        "/v1/learners",
        json={"full_name": "Wa Ode Sitti", "position": "kaur_keuangan", "village_code": TOWUA},
        headers=enrollment.auth("admin") | headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["learner_id"])


async def registered_event(js: JetStreamContext, learner_id: str) -> tuple[CloudEvent[Any], Any]:
    """The learner's registration as published on the stream, with its NATS headers."""

    async def find() -> tuple[CloudEvent[Any], Any] | None:
        info = await js.stream_info("LMS")
        if not info.state.messages:
            return None
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            msg = await js.get_msg("LMS", seq)
            event = parse_event(msg.data)
            if isinstance(event.data, LearnerRegistered) and str(event.data.learner_id) == (
                learner_id
            ):
                return event, msg.headers
        return None

    found = await eventually(find, lambda x: x is not None)
    assert found is not None
    return found


async def test_the_callers_correlation_id_and_trace_reach_the_event_and_its_nats_headers(
    enrollment: RunningService, jetstream: JetStreamContext
) -> None:
    learner_id = await register(
        enrollment, **{"X-Correlation-Id": "kolaka-ops-7", "traceparent": CALLER}
    )
    event, headers = await registered_event(jetstream, learner_id)
    assert event.correlationid == "kolaka-ops-7"
    assert event.traceparent is not None and event.traceparent[3:35] == TRACE_ID
    assert headers["traceparent"] == event.traceparent

    # no trace context from the caller: the correlation id names the trace
    learner_id = await register(enrollment, **{"X-Correlation-Id": "kolaka-ops-8"})
    event, _ = await registered_event(jetstream, learner_id)
    assert event.traceparent is not None
    assert event.traceparent[3:35] == trace_id_of("kolaka-ops-8")

    # a malformed traceparent is ignored, never refused
    learner_id = await register(enrollment, traceparent="00-not-a-trace")
    event, _ = await registered_event(jetstream, learner_id)
    assert event.traceparent is not None and "not-a-trace" not in event.traceparent


async def welcome(tx: Transaction, event: CloudEvent[Any]) -> None:
    """A consumer's handler that logs and writes an event of its own."""
    log.info("welcoming learner %s", event.data.learner_id)
    await tx.emit(
        LessonCompleted(
            learner_id=event.data.learner_id,
            course_id=event.id,
            course_version=1,
            lesson_id=event.id,
            village_code=event.data.village_code,
            completed_at=event.time,
            recorded_at=event.time,
        )
    )


@pytest.fixture
async def consumer(
    databases: dict[str, str], jetstream: JetStreamContext
) -> AsyncIterator[Database]:
    """notification's durable, applied by a consumer that runs ``welcome``."""
    engine = make_engine(databases["welcome"])
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    database = Database(engine, Outbox(outbox_table))
    running = Consumer(
        "notification",
        jetstream,
        database,
        Inbox(inbox_table, "notification"),
        Subscription(handlers={LearnerRegistered: welcome}),
        ConsumerOptions(fetch_timeout=0.2),
        wanted=lambda subject: subject.startswith(LearnerRegistered.event_type),
    )
    task = asyncio.create_task(running.run())
    try:
        yield database
    finally:
        running.stop()
        await asyncio.wait_for(task, 30)
        await engine.dispose()


async def written_by_consumer(database: Database) -> list[CloudEvent[Any]]:
    async with database.read() as conn:
        payloads = (await conn.execute(select(outbox_table.c.payload))).scalars()
        return [parse_event(bytes(p)) for p in payloads]


async def test_a_consumer_logs_with_the_correlation_id_and_continues_the_trace(
    enrollment: RunningService,
    jetstream: JetStreamContext,
    consumer: Database,
    log_lines: list[dict[str, Any]],
) -> None:
    learner_id = await register(
        enrollment, **{"X-Correlation-Id": "kolaka-ops-9", "traceparent": CALLER}
    )
    registered, _ = await registered_event(jetstream, learner_id)
    (caused,) = await eventually(lambda: written_by_consumer(consumer), lambda x: len(x) == 1)

    (line,) = [x for x in log_lines if learner_id in x["message"]]
    assert line["correlation_id"] == "kolaka-ops-9"
    assert line["event_id"] == str(registered.id)
    assert caused.correlationid == "kolaka-ops-9"
    assert caused.causationid == str(registered.id)
    assert caused.traceparent is not None and caused.traceparent[3:35] == TRACE_ID


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Tracing on, spans kept in memory (the process's one tracer provider, set once)."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    processor = SimpleSpanProcessor(exporter)
    provider.add_span_processor(processor)
    Tracing.enabled = True
    try:
        yield exporter
    finally:
        Tracing.enabled = False
        processor.shutdown()


def ancestors(spans: InMemorySpanExporter, span: ReadableSpan) -> list[int]:
    """The span ids above ``span``, nearest first, as far as they were recorded here."""
    by_id = {s.context.span_id: s for s in spans.get_finished_spans() if s.context is not None}
    found = []
    parent = span.parent
    while parent is not None:
        found.append(parent.span_id)
        above = by_id.get(parent.span_id)
        parent = above.parent if above is not None else None
    return found


def named(spans: InMemorySpanExporter, prefix: str) -> list[ReadableSpan]:
    return [s for s in spans.get_finished_spans() if s.name.startswith(prefix)]


async def test_with_tracing_on_request_outbox_relay_and_consumer_are_spans_of_one_trace(
    spans: InMemorySpanExporter,
    enrollment: RunningService,
    jetstream: JetStreamContext,
    consumer: Database,
) -> None:
    learner_id = await register(enrollment, traceparent=CALLER)
    registered, _ = await registered_event(jetstream, learner_id)
    await eventually(lambda: written_by_consumer(consumer), lambda x: len(x) == 1)
    await eventually(
        lambda: asyncio.sleep(0, named(spans, "notification apply")), lambda x: len(x) == 1
    )

    (request,) = named(spans, "POST /v1/learners")
    assert request.context is not None and request.parent is not None
    assert f"{request.context.trace_id:032x}" == TRACE_ID
    assert f"{request.parent.span_id:016x}" == "00f067aa0ba902b7"
    assert request.attributes is not None and request.attributes["http.route"] == "/v1/learners"
    # the event's traceparent names the span that wrote it, a child of the request's
    writes = [s for s in named(spans, "outbox write") if s.context.trace_id == int(TRACE_ID, 16)]
    assert registered.traceparent is not None
    (writer,) = [s for s in writes if f"{s.context.span_id:016x}" == registered.traceparent[36:52]]
    assert request.context.span_id in ancestors(spans, writer)
    linked = {
        f"{link.context.trace_id:032x}"
        for s in named(spans, "outbox relay publish")
        for link in s.links
    }
    assert TRACE_ID in linked
    (applied,) = named(spans, "notification apply")
    assert f"{applied.context.trace_id:032x}" == TRACE_ID
    assert applied.parent is not None
    assert f"{applied.parent.span_id:016x}" == registered.traceparent[36:52]


async def refuse(tx: Transaction, event: CloudEvent[Any]) -> None:
    raise ValueError("village code not in this regency")


async def test_a_failing_event_is_retried_and_dead_lettered_with_a_line_each_naming_its_request(
    databases: dict[str, str], jetstream: JetStreamContext
) -> None:
    lines: list[dict[str, Any]] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(json.loads(JsonFormatter().format(record)))

    settling = logging.getLogger("servicekit.dead_lettering")
    handler = Collect()
    settling.addHandler(handler)
    engine = make_engine(databases["welcome"])
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    running = Consumer(
        "notification",
        jetstream,
        Database(engine, Outbox(outbox_table)),
        Inbox(inbox_table, "notification"),
        Subscription(handlers={LearnerRegistered: refuse}),
        ConsumerOptions(max_deliver=2, retry_delays=(0.1,), fetch_timeout=0.2),
    )
    task = asyncio.create_task(running.run())
    try:
        event = new_event(
            LearnerRegistered(
                learner_id=uuid.uuid4(),
                full_name="La Ode Gagal",
                position="kepala_dusun",
                village_code=TOWUA,
                registered_at=datetime.now(UTC),
            ),
            correlation_id="kolaka-ops-11",
        )
        await jetstream.publish(subject_of(event.data), event.to_json())
        await eventually(
            lambda: asyncio.sleep(0, lines),
            lambda x: any("dead-lettered" in y["message"] for y in x),
        )
    finally:
        running.stop()
        await asyncio.wait_for(task, 30)
        settling.removeHandler(handler)
        await engine.dispose()
    retried, dead = lines[0], lines[-1]
    assert "retry in" in retried["message"] and retried["level"] == "warning"
    assert dead["message"].startswith(f"dead-lettered event {event.id} of type {event.type}")
    assert "village code not in this regency" in dead["message"] and dead["level"] == "error"
    for line in (retried, dead):
        assert line["correlation_id"] == "kolaka-ops-11"
        assert line["event_id"] == str(event.id)
