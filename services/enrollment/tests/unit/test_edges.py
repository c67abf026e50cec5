"""The enrollment service's edges: inbound events become commands, refusals become problems."""

import uuid
from datetime import UTC, datetime

import lms_contracts as c
from enrollment.api.certificates import wants_html
from enrollment.api.refusals import REFUSALS
from enrollment.domain import commands
from enrollment.domain.errors import (
    AlreadyEnrolled,
    BulkJobTooLarge,
    LearnerExists,
    NotEnrolled,
    UnknownCourse,
)
from enrollment.events.inbound import INBOUND
from servicekit.auth import Principal, Role
from servicekit.registry import service

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def passed(kind: c.AssessmentKind) -> c.CloudEvent:
    return c.new_event(
        c.Passed(
            attempt_id=uuid.uuid4(),
            assessment_id=uuid.uuid4(),
            assessment_kind=kind,
            learner_id=uuid.uuid4(),
            course_id=uuid.uuid4(),
            village_code="74.01.01.2006",
            score=85,
            pass_score=70,
            attempt_number=1,
            graded_at=NOW,
        )
    )


def test_the_inbound_table_covers_exactly_the_registered_subscriptions() -> None:
    assert set(INBOUND) == set(service("enrollment").consumes)


def test_a_passed_post_test_and_any_pre_test_become_commands() -> None:
    command = INBOUND[c.Passed](passed(c.AssessmentKind.POST_TEST))
    assert isinstance(command, commands.RecordPostTestPassed)
    assert (command.score, command.passed_at) == (85, NOW)
    pre_test = INBOUND[c.Passed](passed(c.AssessmentKind.PRE_TEST))
    assert isinstance(pre_test, commands.RecordPreTestTaken) and pre_test.taken_at == NOW
    assert INBOUND[c.Passed](passed(c.AssessmentKind.QUIZ)) is None


def test_refusals_keep_their_codes_fields_and_extra_members() -> None:
    learner_id, enrollment_id = uuid.uuid4(), uuid.uuid4()
    duplicate = LearnerExists(learner_id, "73.71.01.1001")
    admin = Principal("a", frozenset({Role.ADMIN}))
    exists = REFUSALS.problem(duplicate, admin)
    assert (exists.status, exists.code, exists.extra) == (
        409,
        "learner_exists",
        {"learner_id": str(learner_id)},
    )
    assert exists.detail == "a learner with this NIK is already registered"
    elsewhere = Principal("s", frozenset({Role.SUPERVISOR}), region_code="74")
    hidden = REFUSALS.problem(duplicate, elsewhere)
    assert (hidden.status, hidden.code, hidden.extra) == (409, "learner_exists", {})
    enrolled = REFUSALS.problem(AlreadyEnrolled(enrollment_id))
    assert enrolled.extra == {"enrollment_id": str(enrollment_id)}
    course = REFUSALS.problem(UnknownCourse("x"))
    assert (course.status, course.detail) == (422, "course_id: no published course has this id")
    too_large = REFUSALS.problem(BulkJobTooLarge(9, 5))
    assert too_large.detail == "region_code: matches 9 learners; at most 5 per job"
    assert too_large.errors == [
        {
            "field": "region_code",
            "message": "matches {matching} learners; at most {cap} per job",
            "params": {"matching": 9, "cap": 5},
        }
    ]
    not_enrolled = REFUSALS.problem(NotEnrolled("withdrawn"))
    assert (not_enrolled.status, not_enrolled.code) == (422, "not_enrolled")
    assert not_enrolled.errors == [{"field": "learner_id", "message": "withdrawn"}]


def test_browsers_get_the_verification_page_and_api_clients_json() -> None:
    firefox = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    assert wants_html(firefox)
    assert not wants_html("*/*")  # curl
    assert not wants_html("application/json")
    assert not wants_html("")
    assert not wants_html("text/html;q=0.5, application/json")
    assert wants_html("text/html;q=bogus, text/html")
