"""What the subscriber kit does with each pulled message, without a server: typed handlers in
order, unknown types and newer minor versions never stop it, failures come back later."""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from lms_contracts import (
    CloudEvent,
    CoursePublished,
    Enrolled,
    EventData,
    LearnerContactChanged,
    LessonCompleted,
    new_event,
    subject_of,
)
from lms_contracts.examples import EXAMPLES
from lms_contracts.subscriber.cli import main, parse_since, parser
from lms_contracts.subscriber.dispatch import RETRY_DELAYS, Dispatcher
from lms_contracts.subscriber.kit import Subscriber

NOW = datetime(2026, 11, 2, 1, 30, tzinfo=UTC)


@dataclass
class Pulled:
    """A pulled message that remembers how it was settled."""

    subject: str
    data: bytes
    delivered: int = 1
    settled: list[tuple[str, float | None]] = field(default_factory=list)

    @property
    def metadata(self) -> Any:
        return SimpleNamespace(num_delivered=self.delivered)

    async def ack(self) -> None:
        self.settled.append(("ack", None))

    async def nak(self, delay: float | None = None) -> None:
        self.settled.append(("nak", delay))

    async def term(self) -> None:
        self.settled.append(("term", None))


def pulled(data: EventData, **changes: Any) -> Pulled:
    raw = json.loads(new_event(data).to_json())
    raw.update(changes.pop("envelope", {}))
    raw["data"].update(changes.pop("payload", {}))
    return Pulled(subject_of(data), json.dumps(raw).encode(), **changes)


def lesson(village_code: str = "74.01.01.2006") -> LessonCompleted:
    return LessonCompleted(
        learner_id=uuid.uuid4(),
        course_id=uuid.uuid4(),
        course_version=1,
        lesson_id=uuid.uuid4(),
        village_code=village_code,
        completed_at=NOW,
        recorded_at=NOW,
    )


def enrolled() -> Enrolled:
    return EXAMPLES[Enrolled].data  # type: ignore[return-value]


async def test_each_event_reaches_the_handler_of_its_type_in_order_then_is_acknowledged() -> None:
    dispatcher, seen = Dispatcher(), []

    async def on_lesson(event: CloudEvent[LessonCompleted]) -> None:
        seen.append(("lesson", event.data.lesson_id))

    async def on_enrolled(event: CloudEvent[Enrolled]) -> None:
        seen.append(("enrolled", event.data.enrollment_id))

    dispatcher.register([LessonCompleted], on_lesson)
    dispatcher.register([Enrolled], on_enrolled)
    first, second = lesson(), lesson()
    messages = [pulled(first), pulled(enrolled()), pulled(second)]
    await dispatcher.deliver(messages)
    assert seen == [
        ("lesson", first.lesson_id),
        ("enrolled", enrolled().enrollment_id),
        ("lesson", second.lesson_id),
    ]
    assert all(m.settled == [("ack", None)] for m in messages)
    assert dispatcher.counts == {"handled": 3}


async def test_a_type_without_a_handler_is_acknowledged_and_skipped() -> None:
    dispatcher = Dispatcher()
    dispatcher.register([LessonCompleted], _nothing)
    message = pulled(enrolled())
    await dispatcher.deliver([message])
    assert message.settled == [("ack", None)]
    assert dispatcher.counts == {"skipped": 1}


async def test_a_new_v1_event_type_is_acknowledged_and_logged_once_never_a_stuck_consumer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    dispatcher, seen = Dispatcher(), []

    async def on_lesson(event: CloudEvent[LessonCompleted]) -> None:
        seen.append(event.id)

    dispatcher.register([LessonCompleted], on_lesson)
    body = {"id": str(uuid.uuid4()), "type": "lms.content.lesson-bookmarked.v1", "data": {}}
    newer = [
        Pulled("lms.content.lesson-bookmarked.v1.74.01.01.2006", json.dumps(body).encode())
        for _ in range(3)
    ]
    after = pulled(lesson())
    with caplog.at_level(logging.WARNING, "lms_contracts.subscriber"):
        await dispatcher.deliver([*newer, after])
    assert all(m.settled == [("ack", None)] for m in [*newer, after])
    assert len(seen) == 1
    assert dispatcher.counts == {"unknown": 3, "handled": 1}
    warnings = [r for r in caplog.records if "lesson-bookmarked" in r.getMessage()]
    assert len(warnings) == 1


async def test_a_higher_minor_version_with_extra_fields_reaches_the_typed_handler() -> None:
    dispatcher, seen = Dispatcher(), []

    async def on_lesson(event: CloudEvent[LessonCompleted]) -> None:
        seen.append(event.data)

    dispatcher.register([LessonCompleted], on_lesson)
    data = lesson()
    message = pulled(data, envelope={"minorversion": 4}, payload={"device": "android-offline"})
    await dispatcher.deliver([message])
    assert seen == [data]
    assert message.settled == [("ack", None)]


async def test_a_malformed_event_is_terminated_and_the_rest_goes_on() -> None:
    dispatcher, seen = Dispatcher(), []

    async def on_lesson(event: CloudEvent[LessonCompleted]) -> None:
        seen.append(event.id)

    dispatcher.register([LessonCompleted], on_lesson)
    broken = pulled(lesson(), payload={"lesson_id": "not-a-uuid"})
    garbage = Pulled("lms.content.lesson-completed.v1.74.01.01.2006", b"\x00{not json")
    fine = pulled(lesson())
    await dispatcher.deliver([broken, garbage, fine])
    assert broken.settled == garbage.settled == [("term", None)]
    assert fine.settled == [("ack", None)] and len(seen) == 1
    assert dispatcher.counts == {"malformed": 2, "handled": 1}


@pytest.mark.parametrize(("delivered", "delay"), [(1, 1.0), (2, 5.0), (4, 120.0), (9, 120.0)])
async def test_a_failing_handler_hands_back_the_message_and_the_rest_with_a_growing_delay(
    delivered: int, delay: float
) -> None:
    dispatcher, calls = Dispatcher(), []

    async def database_away(event: CloudEvent[LessonCompleted]) -> None:
        calls.append(event.id)
        if len(calls) == 2:
            raise ConnectionRefusedError("integrator database unreachable")

    dispatcher.register([LessonCompleted], database_away)
    messages = [pulled(lesson(), delivered=delivered) for _ in range(4)]
    await dispatcher.deliver(messages)
    assert [m.settled for m in messages] == [
        [("ack", None)],
        [("nak", delay)],
        [("nak", delay)],
        [("nak", delay)],
    ]
    assert len(calls) == 2 and dispatcher.counts == {"handled": 1, "failed": 1}
    assert delay in RETRY_DELAYS


def test_only_what_a_regional_user_may_read_can_be_registered_and_only_once() -> None:
    kit = Subscriber("74")
    with pytest.raises(ValueError, match="not readable by regional systems"):
        kit.on(LearnerContactChanged)(_nothing)
    kit.on(LessonCompleted)(_nothing)
    with pytest.raises(ValueError, match="already registered"):
        kit.on(LessonCompleted)(_nothing)


def test_the_catalog_durable_is_made_only_for_a_catalog_handler() -> None:
    learner_only = Subscriber("74.01")
    learner_only.on(LessonCompleted)(_nothing)
    assert [(d.name, d.filter_subject) for d in learner_only.durables()] == [
        ("region-74-01", "lms.*.*.v1.74.01.>")
    ]
    both = Subscriber("74")
    both.on(LessonCompleted, CoursePublished)(_nothing)
    assert [d.name for d in both.durables()] == ["region-74", "region-74-catalog"]
    with pytest.raises(RuntimeError, match="register a handler first"):
        Subscriber("74").durables()


def test_since_takes_an_iso_time_or_a_span_back_from_now() -> None:
    assert parse_since("2026-11-01T00:00:00Z") == datetime(2026, 11, 1, tzinfo=UTC)
    assert parse_since("2026-11-01T08:00:00") == datetime(2026, 11, 1, 8, tzinfo=UTC)
    assert parse_since("15m", now=NOW) == datetime(2026, 11, 2, 1, 15, tzinfo=UTC)
    assert parse_since("7d", now=NOW) == datetime(2026, 10, 26, 1, 30, tzinfo=UTC)
    with pytest.raises(SystemExit):
        parser().parse_args(["follow", "--region", "74", "--since", "last tuesday"])


def test_the_command_without_a_subcommand_follows_as_lms_up_prints_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ran: list[str] = []

    async def follow(args: Any) -> None:
        ran.append(f"{args.command} {args.region} {args.user}")

    monkeypatch.setattr("lms_contracts.subscriber.cli.follow", follow)
    monkeypatch.setattr("lms_contracts.subscriber.cli.configure_logging", lambda: None)
    main(["--url", "nats://127.0.0.1:4222", "--user", "region-74", "--region", "74"])
    assert ran == ["follow 74 region-74"]


def test_a_wrong_region_code_is_refused_with_a_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("lms_contracts.subscriber.cli.configure_logging", lambda: None)
    with pytest.raises(SystemExit, match="not a region code"):
        main(["status", "--region", "74.1"])


async def _nothing(event: CloudEvent[Any]) -> None:
    return None
