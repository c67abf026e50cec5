"""A service definition refuses to exist when its inbound table and its registered
subscriptions differ, and runs each inbound event's commands through the runner."""

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import MetaData

from lms_contracts import CloudEvent, Enrolled, EventData, Withdrawn, new_event
from servicekit.registry import ServiceSpec
from servicekit.service import (
    Dependencies,
    Projection,
    ServiceDefinition,
    SubscriptionMismatch,
    Together,
)
from servicekit.settings import ServiceSettings

SPEC = ServiceSpec("probe", 8999, "probe", consumes=(Enrolled, Withdrawn))
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def definition(spec: ServiceSpec = SPEC, **parts: Any) -> ServiceDefinition[Any, Any]:
    return ServiceDefinition(
        spec=spec, settings=ServiceSettings(), deps=Dependencies(), metadata=MetaData(), **parts
    )


def ignore(event: CloudEvent[Any]) -> None:
    return None


async def nothing(tx: Any, events: Any) -> None:
    pass


def test_an_inbound_table_that_misses_a_registered_event_is_refused() -> None:
    with pytest.raises(SubscriptionMismatch) as refused:
        definition(inbound={Enrolled: ignore})
    assert "registered but not handled: ['lms.enrollment.withdrawn.v1']" in str(refused.value)


def test_an_inbound_table_that_handles_an_unregistered_event_is_refused() -> None:
    spec = ServiceSpec("probe", 8999, "probe", consumes=(Enrolled,))
    with pytest.raises(SubscriptionMismatch) as refused:
        definition(spec, inbound={Enrolled: ignore, Withdrawn: ignore})
    assert "handled but not registered: ['lms.enrollment.withdrawn.v1']" in str(refused.value)


def test_projection_rules_are_held_to_the_registry_too() -> None:
    with pytest.raises(SubscriptionMismatch):
        definition(projection=Projection(rules={Enrolled: "rule"}, apply=nothing))
    rules = {Enrolled: "rule", Withdrawn: "rule"}
    assert definition(projection=Projection(rules=rules, apply=nothing)).projection is not None


def test_a_service_that_consumes_nothing_has_no_subscription() -> None:
    quiet = definition(ServiceSpec("quiet", 8998, "quiet"))
    assert quiet.subscription(runner=Recorder()) is None


class Recorder:
    """Stands in for the runner: records what each event asked of the service."""

    def __init__(self) -> None:
        self.applied: list[tuple[Any, ...]] = []

    async def apply(self, tx: Any, *commands: Any) -> None:
        self.applied.append((tx, *commands))


def enrolled() -> CloudEvent[EventData]:
    return new_event(
        Enrolled(
            enrollment_id=uuid.uuid4(),
            learner_id=uuid.uuid4(),
            course_id=uuid.uuid4(),
            course_version=1,
            course_title="Keuangan Desa",
            village_code="74.01.01.2006",
            position="kepala_desa",
            enrolled_at=NOW,
        )
    )


async def test_each_event_runs_the_commands_its_translator_makes_in_the_batch_transaction() -> None:
    recorder, tx = Recorder(), object()
    inbound = {Enrolled: lambda e: ["first", "second"], Withdrawn: ignore}
    subscription = definition(inbound=inbound).subscription(recorder)  # type: ignore[arg-type]
    assert subscription is not None
    await subscription.handlers[Enrolled](tx, enrolled())  # type: ignore[arg-type]
    await subscription.handlers[Withdrawn](tx, enrolled())  # type: ignore[arg-type]
    assert recorder.applied == [(tx, "first", "second")], "None asks nothing of the service"


async def test_a_single_command_is_run_as_it_is() -> None:
    recorder, tx = Recorder(), object()
    inbound = {Enrolled: lambda e: "one", Withdrawn: ignore}
    subscription = definition(inbound=inbound).subscription(recorder)  # type: ignore[arg-type]
    assert subscription is not None
    await subscription.handlers[Enrolled](tx, enrolled())  # type: ignore[arg-type]
    assert recorder.applied == [(tx, "one")]


class Leaving(Recorder):
    """A runner whose batch use case leaves the events it was told to leave."""

    def __init__(self, left: set[uuid.UUID]) -> None:
        super().__init__()
        self.left = left

    async def apply(self, tx: Any, *commands: Any) -> set[uuid.UUID]:
        await super().apply(tx, *commands)
        return self.left


async def test_events_applied_together_make_one_command_and_only_those_left_go_one_by_one() -> None:
    first, second, third = enrolled(), enrolled(), enrolled()
    together = Together(
        batch=lambda events: ("together", [e.id for e in events]),
        each=lambda event: f"alone {event.id}",
    )
    runner, tx = Leaving(left={second.id}), object()
    subscription = definition(inbound={Enrolled: together, Withdrawn: ignore}).subscription(
        runner  # type: ignore[arg-type]
    )
    assert subscription is not None and subscription.batch_handler is not None
    applied = await subscription.batch_handler(tx, [first, second, third])  # type: ignore[arg-type]
    assert runner.applied == [(tx, ("together", [first.id, second.id, third.id]))]
    assert set(applied or ()) == {first.id, third.id}, "the consumer skips these one by one"
    await subscription.handlers[Enrolled](tx, second)  # type: ignore[arg-type]
    assert runner.applied[-1] == (tx, f"alone {second.id}")


async def test_without_events_applied_together_there_is_no_batch_step() -> None:
    subscription = definition(inbound={Enrolled: ignore, Withdrawn: ignore}).subscription(
        Recorder()  # type: ignore[arg-type]
    )
    assert subscription is not None and subscription.batch_handler is None
