"""Contract events -> commands: the content service's one subscription list."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import lms_contracts as c
from servicekit.service import Translator

from ..domain import commands


def enrolled(event: c.CloudEvent[Any]) -> commands.RecordEnrollment:
    data: c.Enrolled = event.data
    return commands.RecordEnrollment(
        enrollment_id=data.enrollment_id,
        learner_id=data.learner_id,
        course_id=data.course_id,
        course_version=data.course_version,
        village_code=data.village_code,
        enrolled_at=data.enrolled_at,
    )


def withdrawn(event: c.CloudEvent[Any]) -> commands.RecordWithdrawal:
    data: c.Withdrawn = event.data
    return commands.RecordWithdrawal(
        enrollment_id=data.enrollment_id,
        learner_id=data.learner_id,
        course_id=data.course_id,
        village_code=data.village_code,
        withdrawn_at=data.withdrawn_at,
    )


def course_version_changed(event: c.CloudEvent[Any]) -> commands.RecordVersionChange:
    data: c.CourseVersionChanged = event.data
    return commands.RecordVersionChange(
        enrollment_id=data.enrollment_id,
        learner_id=data.learner_id,
        course_id=data.course_id,
        course_version=data.course_version,
        village_code=data.village_code,
        move_number=data.move_number,
    )


def graded(event: c.CloudEvent[Any]) -> commands.RecordPreTest | None:
    """A pre-test taken, passed or not, opens the lessons of a version that asks for it."""
    data: c.Passed | c.Failed = event.data
    if data.assessment_kind != c.AssessmentKind.PRE_TEST:
        return None
    return commands.RecordPreTest(data.learner_id, data.course_id, data.graded_at)


INBOUND: Mapping[type[c.EventData], Translator] = {
    c.Enrolled: enrolled,
    c.Withdrawn: withdrawn,
    c.CourseVersionChanged: course_version_changed,
    c.Passed: graded,
    c.Failed: graded,
}
