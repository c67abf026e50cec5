"""Assessment versions, one post-test per course, grants of attempts and time, and when a
learner may review their answers, with an in-memory unit of work."""

import uuid
from dataclasses import replace
from datetime import timedelta

import pytest

from assessment import usecases
from assessment.domain import commands, events
from assessment.domain.authoring import build_assessment
from assessment.domain.errors import (
    AttemptFinished,
    InvalidField,
    MaxAttemptsReached,
    NoDraft,
    PostTestExists,
)
from assessment.domain.model import (
    Assessment,
    AssessmentKind,
    Attempt,
    AttemptStatus,
    Review,
    VersionStatus,
    attempts_allowed,
    may_review,
)

from .test_attempts import (
    COURSE,
    T0,
    create,
    right_answers,
    start,
    submit,
    world,
)


async def test_a_course_has_one_post_test_and_a_correction_is_its_next_version() -> None:
    uow, post, _ = await world(AssessmentKind.POST_TEST)
    with pytest.raises(PostTestExists) as twice:
        await usecases.create_assessment(create(AssessmentKind.POST_TEST, title="Koreksi"), uow)
    assert twice.value.assessment_id == post.assessment_id
    await usecases.create_assessment(create(AssessmentKind.PRE_TEST), uow)  # beside it: fine
    draft = await usecases.revise_assessment(
        commands.ReviseAssessment(post.assessment_id, create(AssessmentKind.POST_TEST)), uow
    )
    assert (draft.version, draft.status) == (2, VersionStatus.DRAFT)


async def test_a_published_version_replaces_the_old_for_new_attempts_only() -> None:
    uow, pre, learner = await world(AssessmentKind.PRE_TEST, max_attempts=2)
    first, _ = await start(uow, pre, learner)
    corrected = create(AssessmentKind.PRE_TEST, title="Pre-test (koreksi)", max_attempts=2)
    await usecases.revise_assessment(commands.ReviseAssessment(pre.assessment_id, corrected), uow)
    v2 = await usecases.publish_assessment(commands.PublishAssessment(pre.assessment_id), uow)
    with pytest.raises(NoDraft):
        await usecases.publish_assessment(commands.PublishAssessment(pre.assessment_id), uow)
    graded = await submit(uow, first, right_answers(pre), at=T0 + timedelta(minutes=5))
    assert (graded.assessment_version, graded.score) == (1, 100.0)  # its own version's key
    second, _ = await start(uow, pre, learner, at=T0 + timedelta(minutes=6), seed=2)
    assert (second.assessment_version, second.attempt_number) == (2, 2)
    assert {q.question_id for q in v2.questions} == {d.question_id for d in second.paper}
    await submit(uow, second, at=T0 + timedelta(minutes=7))
    with pytest.raises(MaxAttemptsReached):  # the limit counts attempts of every version
        await start(uow, pre, learner, at=T0 + timedelta(minutes=8), seed=3)


async def test_a_revision_keeps_the_course_and_the_kind() -> None:
    uow, pre, _ = await world(AssessmentKind.PRE_TEST)
    for field, changed in (
        ("course_id", create(AssessmentKind.PRE_TEST, course_id=uuid.uuid4())),
        ("kind", create(AssessmentKind.QUIZ)),
    ):
        with pytest.raises(InvalidField) as refused:
            await usecases.revise_assessment(
                commands.ReviseAssessment(pre.assessment_id, changed), uow
            )
        assert refused.value.field == field


async def test_granted_attempts_raise_one_learners_limit_and_are_published() -> None:
    uow, pre, learner = await world(AssessmentKind.PRE_TEST, max_attempts=1)
    first, _ = await start(uow, pre, learner)
    await submit(uow, first, at=T0 + timedelta(minutes=1))
    with pytest.raises(MaxAttemptsReached):
        await start(uow, pre, learner, at=T0 + timedelta(minutes=2), seed=2)
    grant = await usecases.grant_attempts(
        commands.GrantAttempts(pre.assessment_id, learner, 1, " listrik padam ", "guru-1"), uow
    )
    assert (grant.extra_attempts, grant.reason, grant.village_code) == (
        1,
        "listrik padam",
        "74.01.01.2006",
    )
    assert isinstance(uow.published[-1], events.Granted)
    second, created = await start(uow, pre, learner, at=T0 + timedelta(minutes=3), seed=2)
    assert created and second.attempt_number == 2
    with pytest.raises(InvalidField) as stranger:
        await usecases.grant_attempts(
            commands.GrantAttempts(pre.assessment_id, uuid.uuid4(), 1, "alasan", "guru-1"), uow
        )
    assert stranger.value.field == "learner_id"


async def test_more_time_only_for_an_attempt_still_running() -> None:
    uow, pre, learner = await world(AssessmentKind.PRE_TEST)
    attempt, _ = await start(uow, pre, learner)
    uow.clock.set(T0 + timedelta(minutes=5))
    grant = await usecases.grant_time(
        commands.GrantTime(attempt.attempt_id, 900, "gangguan jaringan", "guru-1"), uow
    )
    assert grant.attempt_id == attempt.attempt_id
    assert uow.attempts[attempt.attempt_id].expires_at == T0 + timedelta(seconds=600 + 900)
    await submit(uow, attempt, at=T0 + timedelta(minutes=20))  # within the new limit: graded
    assert uow.attempts[attempt.attempt_id].status == AttemptStatus.GRADED
    with pytest.raises(AttemptFinished):
        await usecases.grant_time(
            commands.GrantTime(attempt.attempt_id, 900, "terlambat", "guru-1"), uow
        )
    untimed_uow, untimed, someone = await world(AssessmentKind.QUIZ, time_limit_seconds=None)
    running, _ = await start(untimed_uow, untimed, someone)
    with pytest.raises(InvalidField):
        await usecases.grant_time(
            commands.GrantTime(running.attempt_id, 900, "tanpa batas", "guru-1"), untimed_uow
        )


def attempt_at(assessment: Assessment, status: AttemptStatus) -> Attempt:
    return Attempt(
        attempt_id=uuid.uuid4(),
        assessment_id=assessment.assessment_id,
        learner_id=uuid.uuid4(),
        course_id=COURSE,
        village_code="74.01.01.2006",
        attempt_number=1,
        seed=1,
        paper=(),
        started_at=T0,
        expires_at=None,
        status=status,
    )


def test_answers_are_reviewed_after_the_last_attempt_unless_configured_otherwise() -> None:
    assessment = build_assessment(create(AssessmentKind.POST_TEST), uuid.uuid4(), T0)
    graded = attempt_at(assessment, AttemptStatus.GRADED)
    running = attempt_at(assessment, AttemptStatus.IN_PROGRESS)
    allowed = attempts_allowed(assessment, 0)  # 2
    assert not may_review(assessment, graded, 1, allowed)
    assert may_review(assessment, graded, 2, allowed)
    assert not may_review(assessment, running, 2, allowed)
    assert not may_review(assessment, graded, 2, attempts_allowed(assessment, 1))
    each = replace(assessment, review=Review.AFTER_EACH_ATTEMPT)
    assert may_review(each, graded, 1, allowed)
    never = replace(assessment, review=Review.NEVER)
    assert not may_review(never, graded, 2, allowed)
    unlimited = replace(assessment, max_attempts=None)
    assert not may_review(unlimited, graded, 9, attempts_allowed(unlimited, 0))
