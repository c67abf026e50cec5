"""The bridge consumes every learner event and never the private contact change; settings
refuse what production must not run with; refusals name their field."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError

import lms_contracts as c
from servicekit.registry import service
from webhooks.api.refusals import REFUSALS
from webhooks.domain.commands import RecordEvent
from webhooks.domain.errors import EndpointExists, InvalidEndpointUrl, NotDeadLettered
from webhooks.events.inbound import INBOUND
from webhooks.settings import WebhooksSettings

PROD = {
    "environment": "prod",
    "auth_jwks_url": "https://sso.example.go.id/certs",
    "cursor_signing_key": "a-production-cursor-key-of-some-length-0000",
}


def test_it_consumes_the_learner_events_a_regional_user_may_read_and_not_contact_details() -> None:
    assert set(INBOUND) == set(service("webhooks").consumes)
    assert c.LearnerContactChanged not in INBOUND and c.CoursePublished not in INBOUND
    assert c.LearnerContactsViewed not in INBOUND
    assert all(event.regional for event in INBOUND)
    assert service("webhooks").publishes == ()


def test_an_event_becomes_a_record_carrying_its_exact_body() -> None:
    data = c.LessonCompleted(
        learner_id=uuid.uuid4(),
        course_id=uuid.uuid4(),
        course_version=1,
        lesson_id=uuid.uuid4(),
        village_code="74.01.01.2006",
        completed_at="2026-11-02T08:00:00Z",
        recorded_at="2026-11-02T08:00:01Z",
    )
    event = c.new_event(data)
    (command,) = INBOUND[c.LessonCompleted].batch([event]).events
    assert isinstance(command, RecordEvent)
    assert command.event_id == event.id and command.village_code == "74.01.01.2006"
    assert c.parse_event(command.body.encode()) == event


@pytest.mark.parametrize(
    "unsafe",
    [
        {},  # the development secret key
        {"secret_encryption_keys": ["x" * 44], "private_networks_allowed": True},
        {"secret_encryption_keys": ["x" * 44], "retry_window_hours": 24},
    ],
)
def test_production_refuses_unsafe_settings(unsafe: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        WebhooksSettings(**PROD, **unsafe)


def test_production_rules_refuse_private_addresses_by_default() -> None:
    settings = WebhooksSettings(**PROD, secret_encryption_keys=["x" * 44])
    assert not settings.addresses.private_allowed
    assert WebhooksSettings().addresses.private_allowed  # development


def test_refusals_name_the_field_and_the_right_status() -> None:
    problem = REFUSALS.problem(InvalidEndpointUrl("must use https"))
    assert problem.status == 422 and problem.errors == [
        {"field": "url", "message": "must use https"}
    ]
    assert REFUSALS.problem(EndpointExists("https://a.id", "74")).status == 409
    assert REFUSALS.problem(NotDeadLettered(uuid.uuid4(), "pending")).code == "not_dead_lettered"
