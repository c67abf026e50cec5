"""The content service's tables of what handles what, and how its refusals are answered."""

import dataclasses
import inspect
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

import lms_contracts as c
from content import main, usecases
from content.api.refusals import REFUSALS
from content.dependencies import ContentDependencies
from content.domain import commands
from content.domain.errors import InvalidLesson, NotEnrolled, UnknownCourse
from content.events.inbound import INBOUND
from servicekit.clock import ManualClock

NOW = datetime(2026, 11, 1, 8, tzinfo=UTC)


def test_every_command_has_exactly_one_use_case() -> None:
    declared = {
        cls
        for _, cls in inspect.getmembers(commands, inspect.isclass)
        if dataclasses.is_dataclass(cls) and cls.__module__ == commands.__name__
    }
    assert set(usecases.HANDLERS) == declared


def test_enrolled_and_withdrawn_events_become_commands() -> None:
    learner_id, course_id, enrollment_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    enrolled = c.new_event(
        c.Enrolled(
            enrollment_id=enrollment_id,
            learner_id=learner_id,
            course_id=course_id,
            course_version=2,
            course_title="Keuangan Desa",
            village_code="74.01.01.2006",
            position=c.Position.SEKRETARIS_DESA,
            enrolled_at=NOW,
        )
    )
    assert INBOUND[c.Enrolled](enrolled) == commands.RecordEnrollment(
        enrollment_id, learner_id, course_id, 2, "74.01.01.2006", NOW
    )
    withdrawn = c.new_event(
        c.Withdrawn(
            enrollment_id=enrollment_id,
            learner_id=learner_id,
            course_id=course_id,
            course_title="Keuangan Desa",
            village_code="74.01.01.2006",
            withdrawn_at=NOW,
        )
    )
    assert INBOUND[c.Withdrawn](withdrawn) == commands.RecordWithdrawal(
        enrollment_id, learner_id, course_id, "74.01.01.2006", NOW
    )


def test_refusals_name_the_field_to_blame() -> None:
    unknown = REFUSALS.problem(UnknownCourse("x"))
    assert (unknown.status, unknown.code, unknown.errors) == (
        404,
        "unknown_course",
        [{"field": "course_id", "message": "no course has this id"}],
    )
    invalid = REFUSALS.problem(InvalidLesson("modules.0.lessons.0.url", "needs a url"))
    assert (invalid.status, invalid.errors) == (
        422,
        [{"field": "modules.0.lessons.0.url", "message": "needs a url"}],
    )
    not_enrolled = REFUSALS.problem(NotEnrolled("not enrolled"))
    assert (not_enrolled.status, not_enrolled.code, not_enrolled.errors) == (
        403,
        "not_enrolled",
        None,
    )


def test_use_cases_tell_time_by_the_clock_in_the_dependencies() -> None:
    settings = main.Settings(environment="test")
    definition = main.definition(settings, ContentDependencies(clock=ManualClock(NOW)))
    uow = definition.unit_of_work(SimpleNamespace(conn=None))
    assert uow.clock() == NOW
    assert definition.max_body_bytes == settings.json_max_bytes
    assert set(definition.upload_limits.values()) == {settings.attachment_max_bytes}
