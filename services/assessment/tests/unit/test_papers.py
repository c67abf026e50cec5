"""Papers taken offline: which assessments may go, graded once when synced with the device's
time kept, and void after a move to another course version."""

import uuid
from datetime import timedelta, timezone

import pytest

from assessment import usecases
from assessment.domain import commands
from assessment.domain.errors import (
    InvalidField,
    MaxAttemptsReached,
    OnlineOnly,
    PaperOutdated,
    PostTestLocked,
    UnknownAttempt,
)
from assessment.domain.model import AssessmentKind, AttemptStatus

from .test_attempts import COURSE, GRACE, LESSONS, T0, TOWUA, right_answers, world

WITA = timezone(timedelta(hours=8))  # Sulawesi Tenggara's clocks


async def take_paper(uow, assessment, learner, at=T0, seed=1):  # type: ignore[no-untyped-def]
    uow.clock.set(at)
    return await usecases.start_attempt(
        commands.StartAttempt(assessment.assessment_id, learner, seed, offline=True), uow
    )


async def sync(uow, attempt, answers, answered_at, at):  # type: ignore[no-untyped-def]
    uow.clock.set(at)
    command = commands.SubmitAttempt(
        attempt.attempt_id, attempt.learner_id, answers, GRACE, answered_at=answered_at
    )
    return await usecases.submit_attempt(command, uow)


async def test_an_untimed_quiz_goes_offline_and_is_graded_once_with_the_device_time_kept() -> None:
    uow, quiz, learner = await world(AssessmentKind.QUIZ, time_limit_seconds=None)
    assert quiz.allow_offline
    paper, created = await take_paper(uow, quiz, learner)
    again, created_again = await take_paper(uow, quiz, learner, at=T0 + timedelta(minutes=5))
    assert created and not created_again and again.attempt_id == paper.attempt_id
    assert paper.offline and paper.course_version == 1

    answered = (T0 + timedelta(days=2)).astimezone(WITA)
    graded = await sync(uow, paper, right_answers(quiz), answered, T0 + timedelta(days=3))
    assert graded.status == AttemptStatus.GRADED and graded.passed
    assert graded.answered_at == answered and graded.answered_at.utcoffset() == timedelta(hours=8)
    assert graded.graded_at == T0 + timedelta(days=3)
    twice = await sync(uow, paper, (), answered, T0 + timedelta(days=4))
    assert twice.score == 100 and len(uow.published) == 1, "sent twice, graded once"


async def test_timed_assessments_and_post_tests_stay_online_unless_allowed() -> None:
    uow, timed, learner = await world(AssessmentKind.QUIZ)
    with pytest.raises(OnlineOnly):
        await take_paper(uow, timed, learner)
    uow, post, learner = await world(AssessmentKind.POST_TEST, time_limit_seconds=None)
    assert not post.allow_offline
    with pytest.raises(OnlineOnly):
        await take_paper(uow, post, learner)
    with pytest.raises(InvalidField) as refused:
        await world(AssessmentKind.POST_TEST, allow_offline=True)
    assert refused.value.field == "allow_offline"


async def test_a_post_test_the_author_lets_go_offline_still_waits_for_the_lessons() -> None:
    uow, post, learner = await world(
        AssessmentKind.POST_TEST, time_limit_seconds=None, allow_offline=True
    )
    with pytest.raises(PostTestLocked):
        await take_paper(uow, post, learner)
    for lesson in LESSONS:
        await usecases.record_lesson_completed(
            commands.RecordLessonCompleted(learner, COURSE, lesson, TOWUA, T0), uow
        )
    paper, _ = await take_paper(uow, post, learner)
    assert paper.offline


async def test_device_times_in_the_future_or_before_the_paper_are_refused() -> None:
    uow, quiz, learner = await world(AssessmentKind.QUIZ, time_limit_seconds=None)
    paper, _ = await take_paper(uow, quiz, learner)
    for answered in (T0 + timedelta(days=2), T0 - timedelta(hours=1)):
        with pytest.raises(InvalidField) as refused:
            await sync(uow, paper, right_answers(quiz), answered, T0 + timedelta(hours=1))
        assert refused.value.field == "answered_at"
    assert uow.attempts[paper.attempt_id].status == AttemptStatus.IN_PROGRESS


async def test_a_paper_of_a_version_the_learner_left_is_void_and_counts_for_nothing() -> None:
    uow, quiz, learner = await world(AssessmentKind.QUIZ, time_limit_seconds=None, max_attempts=1)
    paper, _ = await take_paper(uow, quiz, learner)
    await usecases.record_enrolled(
        commands.RecordEnrolled(next(iter(uow.enrollments)), learner, COURSE, 2, TOWUA, T0), uow
    )
    with pytest.raises(PaperOutdated) as outdated:
        await sync(uow, paper, right_answers(quiz), T0, T0 + timedelta(hours=1))
    assert (outdated.value.issued_for, outdated.value.current) == (1, 2)
    fresh, created = await take_paper(uow, quiz, learner, at=T0 + timedelta(hours=2))
    assert created and fresh.course_version == 2 and fresh.attempt_number == 2
    assert uow.attempts[paper.attempt_id].status == AttemptStatus.VOID
    with pytest.raises(PaperOutdated):
        await sync(uow, paper, right_answers(quiz), T0, T0 + timedelta(hours=3))
    graded = await sync(uow, fresh, right_answers(quiz), None, T0 + timedelta(hours=3))
    assert graded.passed and graded.answered_at is None
    with pytest.raises(MaxAttemptsReached):
        await take_paper(uow, quiz, learner, at=T0 + timedelta(hours=4))


async def test_someone_elses_paper_is_not_found() -> None:
    uow, quiz, learner = await world(AssessmentKind.QUIZ, time_limit_seconds=None)
    paper, _ = await take_paper(uow, quiz, learner)
    uow.clock.set(T0)
    command = commands.SubmitAttempt(paper.attempt_id, uuid.uuid4(), right_answers(quiz), GRACE)
    with pytest.raises(UnknownAttempt):
        await usecases.submit_attempt(command, uow)
