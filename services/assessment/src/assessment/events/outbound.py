"""Domain events -> public contract events: the one place the assessment service translates."""

from __future__ import annotations

from functools import singledispatch

import lms_contracts as c

from ..domain import events as e


@singledispatch
def to_contract(event: object) -> list[c.EventData]:
    raise TypeError(f"no contract for {type(event).__name__}")


@to_contract.register
def _(event: e.Graded) -> list[c.EventData]:
    attempt, assessment = event.attempt, event.assessment
    assert attempt.score is not None and attempt.graded_at is not None
    contract = c.Passed if attempt.passed else c.Failed
    return [
        contract(
            attempt_id=attempt.attempt_id,
            assessment_id=assessment.assessment_id,
            assessment_kind=c.AssessmentKind(assessment.kind.value),
            learner_id=attempt.learner_id,
            course_id=attempt.course_id,
            village_code=attempt.village_code,
            score=attempt.score,
            pass_score=assessment.pass_score,
            attempt_number=attempt.attempt_number,
            graded_at=attempt.graded_at,
        )
    ]


@to_contract.register
def _(event: e.Granted) -> list[c.EventData]:
    grant = event.grant
    return [
        c.ExtensionGranted(
            grant_id=grant.grant_id,
            assessment_id=grant.assessment_id,
            learner_id=grant.learner_id,
            course_id=grant.course_id,
            village_code=grant.village_code,
            attempt_id=grant.attempt_id,
            extra_attempts=grant.extra_attempts,
            extra_seconds=grant.extra_seconds,
            reason=grant.reason,
            granted_at=grant.granted_at,
        )
    ]
