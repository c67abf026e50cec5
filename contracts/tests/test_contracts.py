import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import ValidationError

from lms_contracts import (
    EVENT_TYPES,
    REGIONAL_EVENTS,
    CoursePublished,
    Enrolled,
    LearnerContactChanged,
    LearnerContactsViewed,
    MalformedEvent,
    UnknownEventType,
    new_event,
    parse_event,
    regional_filter,
    subject_for,
    subject_of,
)
from lms_contracts.schemas import breaking_changes, schema_of, snapshot_name
from lms_contracts.v1 import EVENTS

SNAPSHOTS = Path(__file__).parents[1] / "schemas" / "v1"
NOW = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def enrolled(**changes: object) -> Enrolled:
    fields = dict(
        enrollment_id=uuid.uuid4(),
        learner_id=uuid.uuid4(),
        course_id=uuid.uuid4(),
        course_version=1,
        course_title="Tata Kelola Keuangan Desa",
        village_code="74.01.01.2006",
        position="sekretaris_desa",
        enrolled_at=NOW,
    )
    fields.update(changes)
    return Enrolled.model_validate(fields)


def test_learner_event_subject_ends_with_the_village_code_parts() -> None:
    assert subject_of(enrolled()) == "lms.enrollment.enrolled.v1.74.01.01.2006"
    assert subject_for("lms.enrollment.enrolled.v1", "7401012006").endswith(".74.01.01.2006")


def test_course_and_contact_events_carry_no_region_in_their_subject() -> None:
    published = CoursePublished(
        course_id=uuid.uuid4(),
        course_version=2,
        code="KEU-01",
        title="Keuangan",
        lesson_ids=[],
        required_lesson_ids=[],
        published_at=NOW,
    )
    contact = LearnerContactChanged(
        learner_id=uuid.uuid4(),
        full_name="Siti",
        village_code="74.01.01.2006",
        phone="+6281234567890",
        changed_at=NOW,
    )
    viewed = LearnerContactsViewed(
        viewer="admin-1",
        viewer_role="admin",
        route="GET /v1/learners",
        learner_ids=[contact.learner_id],
        viewed_at=NOW,
    )
    assert subject_of(published) == "lms.content.course-published.v1"
    assert subject_of(contact) == "lms.enrollment.learner-contact-changed.v1"
    assert subject_of(viewed) == "lms.enrollment.learner-contacts-viewed.v1"


def test_a_contact_read_names_whose_contact_was_shown_and_never_the_contact() -> None:
    """The access log's event: no region a regional system could subscribe to, no phone or
    e-mail, at least one learner."""
    assert LearnerContactsViewed not in REGIONAL_EVENTS
    fields = set(LearnerContactsViewed.model_fields)
    assert not fields & {"phone", "email", "village_code", "full_name"}
    with pytest.raises(ValidationError, match="learner_ids"):
        LearnerContactsViewed(
            viewer="admin-1",
            viewer_role="admin",
            route="GET /v1/learners",
            learner_ids=[],
            viewed_at=NOW,
        )


def test_regional_filters_match_the_documented_wildcards() -> None:
    assert regional_filter("74") == "lms.*.*.v1.74.>"
    assert regional_filter("74.01") == "lms.*.*.v1.74.01.>"


def test_a_malformed_village_code_is_refused() -> None:
    with pytest.raises(ValidationError, match="village_code"):
        enrolled(village_code="7401012006")
    with pytest.raises(ValueError):
        subject_for("lms.enrollment.enrolled.v1", "74.01")


def test_envelope_round_trips_to_a_typed_event() -> None:
    event = new_event(enrolled(), correlation_id="req-1")
    parsed = parse_event(event.to_json())
    assert isinstance(parsed.data, Enrolled)
    assert parsed == event
    raw = json.loads(event.to_json())
    assert raw["specversion"] == "1.0"
    assert raw["type"] == "lms.enrollment.enrolled.v1"
    assert raw["source"] == "/lms/enrollment"
    assert raw["datacontenttype"] == "application/json"
    assert raw["correlationid"] == "req-1"


def test_envelope_time_is_normalised_to_utc() -> None:
    wita = timezone(timedelta(hours=8))
    event = new_event(enrolled(), time=datetime(2026, 11, 1, 16, 0, tzinfo=wita))
    assert parse_event(event.to_json()).time == NOW


def test_a_newer_minor_version_with_unknown_fields_still_parses() -> None:
    raw = json.loads(new_event(enrolled()).to_json())
    raw["minorversion"] = 3
    raw["data"]["some_future_field"] = "x"
    raw["someextension"] = "y"
    assert isinstance(parse_event(raw).data, Enrolled)


def test_unknown_types_and_broken_messages_raise_clear_errors() -> None:
    with pytest.raises(UnknownEventType):
        parse_event({"type": "lms.enrollment.unknown.v1"})
    with pytest.raises(MalformedEvent):
        parse_event(b"{not json")
    raw = json.loads(new_event(enrolled()).to_json())
    del raw["data"]["learner_id"]
    with pytest.raises(MalformedEvent, match="learner_id"):
        parse_event(raw)


def test_a_message_whose_first_type_key_is_not_the_envelopes_still_parses_right() -> None:
    event = new_event(enrolled())
    raw = json.loads(event.to_json())
    raw["data"]["type"] = "lms.content.course-published.v1"  # a future payload field
    data_first = {"data": raw.pop("data"), **raw}
    parsed = parse_event(json.dumps(data_first).encode())
    assert isinstance(parsed.data, Enrolled) and parsed.id == event.id
    del data_first["data"]["learner_id"]
    with pytest.raises(MalformedEvent, match="learner_id"):
        parse_event(json.dumps(data_first).encode())


def test_regional_events_never_carry_contact_details() -> None:
    forbidden = {"phone", "email", "nik", "national_id"}
    for event in EVENTS:
        if event.regional:
            assert forbidden.isdisjoint(event.model_fields), event.event_type


def test_every_event_type_follows_the_naming_rule() -> None:
    for event_type, event in EVENT_TYPES.items():
        namespace, producer, name, version = event_type.split(".")
        assert (namespace, producer, version) == ("lms", event.producer, "v1")
        assert name == name.lower()


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.event_type)
def test_v1_payload_is_compatible_with_its_committed_snapshot(event: type) -> None:
    path = SNAPSHOTS / snapshot_name(event)
    assert path.exists(), (
        f"no snapshot for {event.event_type}: run python -m lms_contracts.schemas write"
    )
    problems = breaking_changes(json.loads(path.read_text()), schema_of(event))
    assert problems == [], f"{event.event_type} changed in a breaking way: {problems}"


def test_the_compatibility_check_catches_each_kind_of_break() -> None:
    old = schema_of(Enrolled)
    removed = json.loads(json.dumps(old))
    del removed["properties"]["cohort"]
    retyped = json.loads(json.dumps(old))
    retyped["properties"]["course_version"] = {"type": "string"}
    required = json.loads(json.dumps(old))
    required["properties"]["new_field"] = {"type": "string"}
    required["required"].append("new_field")
    optional = json.loads(json.dumps(old))
    optional["properties"]["new_field"] = {"type": "string"}
    assert breaking_changes(old, removed) == ["field removed: cohort"]
    assert breaking_changes(old, retyped) == ["field retyped: course_version"]
    assert breaking_changes(old, required) == ["new required field: new_field"]
    assert breaking_changes(old, optional) == []


def test_the_committed_asyncapi_document_is_current() -> None:
    from lms_contracts.asyncapi import render

    committed = (Path(__file__).parents[1] / "asyncapi.json").read_text()
    assert committed == render(), "run python -m lms_contracts.asyncapi contracts/asyncapi.json"


def test_the_asyncapi_document_exposes_no_contact_details_on_regional_channels() -> None:
    from lms_contracts.asyncapi import document

    doc = document()
    for name, channel in doc["channels"].items():
        if "{province}" in channel["address"]:
            fields = doc["components"]["schemas"][name]["properties"]
            assert not {"phone", "email", "nik"} & set(fields), name
