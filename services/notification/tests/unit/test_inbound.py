"""Which commands each consumed event becomes, and that the service is wired as registered."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import lms_contracts as c
from notification import main
from notification.domain import commands
from notification.domain.model import Channel, Kind
from notification.events.inbound import INBOUND
from servicekit.registry import service

KOLAKA = "74.01.01.2006"
AT = datetime(2026, 8, 1, 3, 0, tzinfo=UTC)


def event(data: c.EventData) -> c.CloudEvent[Any]:
    return c.new_event(data)


def enrolled() -> c.Enrolled:
    return c.Enrolled(
        enrollment_id=uuid.uuid4(),
        learner_id=uuid.uuid4(),
        course_id=uuid.uuid4(),
        course_version=1,
        course_title="Tata Kelola Keuangan Desa",
        village_code=KOLAKA,
        position=c.Position.SEKRETARIS_DESA,
        starts_on=AT,
        enrolled_at=AT,
    )


def graded(kind: c.AssessmentKind, *, passed: bool) -> c.Passed | c.Failed:
    cls = c.Passed if passed else c.Failed
    return cls(
        attempt_id=uuid.uuid4(),
        assessment_id=uuid.uuid4(),
        assessment_kind=kind,
        learner_id=uuid.uuid4(),
        course_id=uuid.uuid4(),
        village_code=KOLAKA,
        score=85.5 if passed else 40.0,
        pass_score=70.0,
        attempt_number=1,
        graded_at=AT,
    )


def test_an_enrollment_is_recorded_then_welcomed_in_the_learners_zone() -> None:
    incoming = event(enrolled())
    record, welcome = INBOUND[c.Enrolled](incoming)
    assert isinstance(record, commands.RecordEnrollment)
    assert isinstance(welcome, commands.Notify)
    assert welcome.notification.kind is Kind.WELCOME
    assert welcome.notification.event_id == incoming.id
    assert welcome.notification.context["zone"] == "Asia/Makassar"


def test_quizzes_are_activity_only_and_tests_also_tell_the_result() -> None:
    [activity] = INBOUND[c.Passed](event(graded(c.AssessmentKind.QUIZ, passed=True)))
    assert isinstance(activity, commands.RecordActivity)
    expected = [
        (c.AssessmentKind.POST_TEST, True, Kind.PASSED),
        (c.AssessmentKind.POST_TEST, False, Kind.FAILED),
        (c.AssessmentKind.PRE_TEST, False, Kind.PRE_TEST_RESULT),
    ]
    for assessment, passed, kind in expected:
        data = graded(assessment, passed=passed)
        activity, result = INBOUND[type(data)](event(data))
        assert isinstance(activity, commands.RecordActivity)
        assert isinstance(result, commands.NotifyGrade)
        assert result.notification.kind is kind and result.course_id == data.course_id


def test_the_inbound_table_is_the_registered_subscription_and_workers_follow_settings() -> None:
    assert set(INBOUND) == set(service("notification").consumes)
    settings = main.Settings(run_scheduler=False)
    built = main.definition(settings, main.dependencies(settings))
    assert [w.__name__ for w in built.workers] == ["delivery_worker", "broadcast_worker"]
    quiet = main.Settings(run_scheduler=False, run_broadcaster=False, run_delivery_worker=False)
    assert main.definition(quiet, main.dependencies(quiet)).workers == []
    assert built.deps.channels == (Channel.INBOX,)  # no SMTP host, no gateway
