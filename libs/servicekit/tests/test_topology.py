"""Each service applies exactly the events the registry gives it, read off the whole stream."""

import uuid
from datetime import UTC, datetime

import lms_contracts as c
from servicekit.registry import consumers
from servicekit.topology import (
    SubjectFilter,
    TopologySettings,
    consumer_config,
    event_filter,
    interests,
    replay_subject,
)

NOW = datetime(2026, 11, 1, tzinfo=UTC)
CONTACT = c.LearnerContactChanged(
    learner_id=uuid.uuid4(), full_name="Wa Ode", village_code="74.01.01.2006", changed_at=NOW
)
VIEWED = c.LearnerContactsViewed(
    viewer="admin-1",
    viewer_role="admin",
    route="GET /v1/learners",
    learner_ids=[CONTACT.learner_id],
    viewed_at=NOW,
)
COMPLETED = c.LessonCompleted(
    learner_id=uuid.uuid4(),
    course_id=uuid.uuid4(),
    course_version=1,
    lesson_id=uuid.uuid4(),
    village_code="74.01.01.2006",
    completed_at=NOW,
    recorded_at=NOW,
)


def test_nats_wildcards_match_as_the_server_matches_them() -> None:
    match = SubjectFilter(["lms.a.*.v1", "lms.b.>"])
    assert match("lms.a.x.v1") and match("lms.b.x") and match("lms.b.x.y.z")
    assert not match("lms.a.x.v1.extra") and not match("lms.a.x") and not match("lms.b")
    assert not match("lms.c.x.v1")


def test_every_service_takes_its_own_event_types_and_replays_only() -> None:
    for spec in consumers():
        service, consumed = spec.name, spec.consumes
        wanted = interests(service)
        assert wanted is not None
        assert wanted(replay_subject(service))
        assert not wanted(replay_subject("someone-else"))
        for event in (CONTACT, VIEWED, COMPLETED):
            assert wanted(c.subject_of(event)) == (type(event) in consumed), (service, event)
    assert interests("a-consumer-nobody-wired") is None


def test_no_region_may_read_contact_details_nor_who_read_them() -> None:
    """What a regional user may read (its region's learner events, the catalog) matches
    neither private event, for a province, a regency or a village."""
    for region in ("74", "74.01", "74.01.01.2006"):
        readable = SubjectFilter([c.regional_filter(region), c.CoursePublished.event_type])
        assert readable(c.subject_of(COMPLETED))
        assert not readable(c.subject_of(CONTACT)) and not readable(c.subject_of(VIEWED))


def test_service_consumers_read_the_whole_stream() -> None:
    for spec in consumers():
        config = consumer_config(spec.name, TopologySettings())
        assert not config.filter_subjects and not config.filter_subject


def test_learner_events_are_matched_in_every_village_and_course_events_exactly() -> None:
    assert event_filter(c.LessonCompleted) == "lms.content.lesson-completed.v1.>"
    assert event_filter(c.CoursePublished) == "lms.content.course-published.v1"
