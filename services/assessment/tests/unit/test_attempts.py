"""Starting and submitting attempts with an in-memory unit of work: unlocking, limits, timing."""

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from assessment import usecases
from assessment.api.refusals import explain_locked
from assessment.domain import commands, events
from assessment.domain.errors import (
    InvalidField,
    MaxAttemptsReached,
    NotEnrolled,
    PostTestLocked,
    UnknownAttempt,
)
from assessment.domain.model import (
    Answer,
    Assessment,
    AssessmentKind,
    Attempt,
    AttemptStatus,
    CourseVersion,
    Grant,
    LearnerEnrollment,
    QuestionKind,
)
from servicekit.clock import ManualClock
from servicekit.i18n import speaking

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
GRACE = timedelta(seconds=30)
TOWUA = "74.01.01.2006"
LESSONS = (uuid.uuid4(), uuid.uuid4())


class FakeUnitOfWork:
    def __init__(self) -> None:
        self.clock = ManualClock(T0)
        self.assessments: dict[uuid.UUID, Assessment] = {}
        self.attempts: dict[uuid.UUID, Attempt] = {}
        self.enrollments: dict[uuid.UUID, dict] = {}
        self.courses: dict[tuple[uuid.UUID, int], CourseVersion] = {}
        self.lessons: set[tuple[uuid.UUID, uuid.UUID, uuid.UUID]] = set()
        self.published: list[events.DomainEvent] = []
        self.versions: dict[tuple[uuid.UUID, int], Assessment] = {}
        self.grants: list[Grant] = []

    def publish(self, event: events.DomainEvent) -> None:
        if isinstance(event, events.Graded):
            event = replace(event, attempt=replace(event.attempt))
        self.published.append(event)

    async def add_assessment(self, assessment, created_by):
        self.assessments[assessment.assessment_id] = assessment
        self.versions[(assessment.assessment_id, assessment.version)] = assessment

    async def get_assessment(self, assessment_id, version=None):
        if version is None:
            return self.assessments.get(assessment_id)
        return self.versions.get((assessment_id, version))

    async def post_test_of(self, course_id):
        return next(
            (
                a.assessment_id
                for a in self.assessments.values()
                if a.course_id == course_id and a.kind == AssessmentKind.POST_TEST
            ),
            None,
        )

    async def latest_version(self, assessment_id):
        found = [v for (a, _), v in self.versions.items() if a == assessment_id]
        newest = max(found, key=lambda v: v.version, default=None)
        return (newest.version, newest.status) if newest else None

    async def save_draft(self, assessment, edited_by):
        self.versions[(assessment.assessment_id, assessment.version)] = assessment

    async def publish_version(self, assessment):
        self.versions[(assessment.assessment_id, assessment.version)] = assessment
        self.assessments[assessment.assessment_id] = assessment

    async def extra_attempts(self, learner_id, assessment_id):
        return sum(
            g.extra_attempts
            for g in self.grants
            if (g.learner_id, g.assessment_id) == (learner_id, assessment_id)
        )

    async def add_grant(self, grant):
        self.grants.append(grant)

    async def active_enrollment(self, learner_id, course_id, *, lock=False):
        for row in self.enrollments.values():
            if (row["learner_id"], row["course_id"]) == (learner_id, course_id) and not row.get(
                "withdrawn_at"
            ):
                done = frozenset(
                    lesson for (lr, c, lesson) in self.lessons if (lr, c) == (learner_id, course_id)
                )
                return LearnerEnrollment(
                    row["enrollment_id"],
                    learner_id,
                    course_id,
                    row["version"],
                    row["village"],
                    done,
                )
        return None

    async def course_version(self, course_id, version):
        return self.courses.get((course_id, version))

    async def attempts_of(self, learner_id, assessment_id):
        found = [
            a
            for a in self.attempts.values()
            if (a.learner_id, a.assessment_id) == (learner_id, assessment_id)
        ]
        return sorted(found, key=lambda a: a.attempt_number)

    async def get_attempt(self, attempt_id, *, lock=False):
        return self.attempts.get(attempt_id)

    async def add_attempt(self, attempt):
        self.attempts[attempt.attempt_id] = attempt

    async def save_attempt(self, attempt):
        self.attempts[attempt.attempt_id] = attempt

    async def overdue_attempts(self, expired_before, limit):
        return [
            a
            for a in self.attempts.values()
            if a.status == AttemptStatus.IN_PROGRESS
            and a.expires_at
            and a.expires_at < expired_before
        ][:limit]

    async def add_course_version(self, course):
        self.courses.setdefault((course.course_id, course.version), course)

    async def save_enrollment(self, cmd):
        row = self.enrollments.setdefault(cmd.enrollment_id, {})
        row.update(
            enrollment_id=cmd.enrollment_id,
            learner_id=cmd.learner_id,
            course_id=cmd.course_id,
            version=cmd.course_version,
            village=cmd.village_code,
        )

    async def withdraw_enrollment(self, cmd):
        row = self.enrollments.setdefault(
            cmd.enrollment_id,
            {
                "enrollment_id": cmd.enrollment_id,
                "learner_id": cmd.learner_id,
                "course_id": cmd.course_id,
                "version": None,
                "village": cmd.village_code,
            },
        )
        row["withdrawn_at"] = cmd.withdrawn_at

    async def add_lesson_completion(self, cmd):
        self.lessons.add((cmd.learner_id, cmd.course_id, cmd.lesson_id))


def create(kind: AssessmentKind, **changes: object) -> commands.CreateAssessment:
    base = commands.CreateAssessment(
        course_id=COURSE,
        kind=kind,
        title="Tes",
        pass_score=70,
        max_attempts=2,
        time_limit_seconds=600,
        questions_drawn=None,
        shuffle_questions=True,
        shuffle_options=True,
        questions=(
            commands.NewQuestion(QuestionKind.TRUE_FALSE, "APBDes lewat perdes?", answer=True),
            commands.NewQuestion(
                QuestionKind.SHORT_ANSWER, "Singkatan?", accepted_answers=("APBDes",)
            ),
        ),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


COURSE = uuid.uuid4()


async def world(kind: AssessmentKind = AssessmentKind.PRE_TEST, **changes: object):  # type: ignore[no-untyped-def]
    uow = FakeUnitOfWork()
    assessment = await usecases.create_assessment(create(kind, **changes), uow)
    learner = uuid.uuid4()
    await usecases.record_course_published(commands.RecordCoursePublished(COURSE, 1, LESSONS), uow)
    await usecases.record_enrolled(
        commands.RecordEnrolled(uuid.uuid4(), learner, COURSE, 1, TOWUA, T0), uow
    )
    return uow, assessment, learner


def right_answers(assessment: Assessment) -> tuple[Answer, ...]:
    tf, short = assessment.questions
    return (Answer(tf.question_id, value=True), Answer(short.question_id, text="apbdes"))


async def start(uow, assessment, learner, at=T0, seed=1):  # type: ignore[no-untyped-def]
    uow.clock.set(at)
    return await usecases.start_attempt(
        commands.StartAttempt(assessment.assessment_id, learner, seed), uow
    )


async def submit(uow, attempt, answers=(), at=T0, learner=None):  # type: ignore[no-untyped-def]
    uow.clock.set(at)
    return await usecases.submit_attempt(
        commands.SubmitAttempt(attempt.attempt_id, learner or attempt.learner_id, answers, GRACE),
        uow,
    )


async def expire_overdue(uow, at):  # type: ignore[no-untyped-def]
    uow.clock.set(at)
    return await usecases.expire_overdue(commands.ExpireOverdue(GRACE), uow)


async def test_the_pre_test_opens_at_enrollment_and_strangers_are_refused() -> None:
    uow, assessment, learner = await world()
    attempt, created = await start(uow, assessment, learner)
    assert created and attempt.attempt_number == 1 and attempt.village_code == TOWUA
    assert attempt.expires_at == T0 + timedelta(seconds=600)
    with pytest.raises(NotEnrolled):
        await start(uow, assessment, uuid.uuid4())


async def test_the_post_test_opens_only_after_every_required_lesson() -> None:
    uow, assessment, learner = await world(AssessmentKind.POST_TEST)
    with pytest.raises(PostTestLocked) as locked:
        await start(uow, assessment, learner)
    assert locked.value.missing_lessons == 2
    assert explain_locked(locked.value).startswith(
        "Post-test dibuka setelah semua materi wajib selesai. Materi wajib yang belum selesai (2)"
    )
    with speaking("en"):
        assert explain_locked(locked.value).startswith(
            "The post-test opens after every required lesson. Required lessons not done yet (2)"
        )
    for lesson in LESSONS:
        await usecases.record_lesson_completed(
            commands.RecordLessonCompleted(learner, COURSE, lesson, TOWUA, T0), uow
        )
    _, created = await start(uow, assessment, learner)
    assert created


async def test_the_post_test_stays_locked_while_the_course_version_is_unknown() -> None:
    uow, assessment, learner = await world(AssessmentKind.POST_TEST)
    uow.courses.clear()
    with pytest.raises(PostTestLocked) as locked:
        await start(uow, assessment, learner)
    assert locked.value.missing_lessons is None


async def test_a_withdrawn_learner_can_no_longer_start() -> None:
    uow, assessment, learner = await world()
    enrollment_id = next(iter(uow.enrollments))
    await usecases.record_withdrawn(
        commands.RecordWithdrawn(enrollment_id, learner, COURSE, TOWUA, T0), uow
    )
    with pytest.raises(NotEnrolled):
        await start(uow, assessment, learner)


async def test_starting_again_resumes_the_attempt_in_progress_with_the_same_paper() -> None:
    uow, assessment, learner = await world()
    first, _ = await start(uow, assessment, learner, seed=1)
    again, created = await start(uow, assessment, learner, at=T0 + timedelta(minutes=5), seed=2)
    assert not created and again.attempt_id == first.attempt_id and again.paper == first.paper


async def test_attempts_beyond_the_maximum_are_refused() -> None:
    uow, assessment, learner = await world()
    for n in (1, 2):
        attempt, _ = await start(uow, assessment, learner, seed=n)
        await submit(uow, attempt)
        assert attempt.attempt_number == n
    with pytest.raises(MaxAttemptsReached):
        await start(uow, assessment, learner)


async def test_unlimited_attempts_when_no_maximum_is_set() -> None:
    uow, assessment, learner = await world(max_attempts=None)
    for _ in range(5):
        attempt, _ = await start(uow, assessment, learner)
        await submit(uow, attempt)
    assert attempt.attempt_number == 5


async def test_submitting_grades_once_and_a_repeat_returns_the_first_result() -> None:
    uow, assessment, learner = await world()
    attempt, _ = await start(uow, assessment, learner)
    graded = await submit(uow, attempt, right_answers(assessment), at=T0 + timedelta(minutes=3))
    assert (graded.score, graded.passed, graded.status) == (100.0, True, AttemptStatus.GRADED)
    again = await submit(uow, attempt, (), at=T0 + timedelta(minutes=4))
    assert (again.score, again.graded_at) == (100.0, T0 + timedelta(minutes=3))
    assert len(uow.published) == 1


async def test_half_right_is_fifty_and_fails_a_pass_score_of_seventy() -> None:
    uow, assessment, learner = await world()
    attempt, _ = await start(uow, assessment, learner)
    graded = await submit(uow, attempt, right_answers(assessment)[:1])
    assert (graded.score, graded.passed, graded.points, graded.max_points) == (50, False, 1, 2)


async def test_a_submission_within_the_grace_after_the_time_limit_is_graded() -> None:
    uow, assessment, learner = await world()
    attempt, _ = await start(uow, assessment, learner)
    just_in = T0 + timedelta(seconds=600) + GRACE
    graded = await submit(uow, attempt, right_answers(assessment), at=just_in)
    assert graded.status == AttemptStatus.GRADED and graded.score == 100


async def test_a_submission_after_the_grace_counts_as_zero_and_is_published_as_failed() -> None:
    uow, assessment, learner = await world()
    attempt, _ = await start(uow, assessment, learner)
    too_late = T0 + timedelta(seconds=600) + GRACE + timedelta(seconds=1)
    expired = await submit(uow, attempt, right_answers(assessment), at=too_late)
    assert (expired.status, expired.score, expired.passed) == (AttemptStatus.EXPIRED, 0, False)
    assert expired.answers == () and expired.max_points == 2
    assert [e.attempt.status for e in uow.published] == [AttemptStatus.EXPIRED]


async def test_an_untimed_attempt_never_expires() -> None:
    uow, assessment, learner = await world(time_limit_seconds=None)
    attempt, _ = await start(uow, assessment, learner)
    assert attempt.expires_at is None
    graded = await submit(uow, attempt, right_answers(assessment), at=T0 + timedelta(days=30))
    assert graded.status == AttemptStatus.GRADED
    assert await expire_overdue(uow, T0 + timedelta(days=60)) == 0


async def test_starting_after_an_abandoned_attempt_ran_out_closes_it_as_zero() -> None:
    uow, assessment, learner = await world()
    first, _ = await start(uow, assessment, learner)
    second, created = await start(uow, assessment, learner, at=T0 + timedelta(seconds=601))
    assert created and second.attempt_number == 2
    assert uow.attempts[first.attempt_id].status == AttemptStatus.EXPIRED
    assert len(uow.published) == 1


async def test_the_sweeper_closes_abandoned_attempts_only_after_the_grace() -> None:
    uow, assessment, learner = await world()
    attempt, _ = await start(uow, assessment, learner)
    deadline = T0 + timedelta(seconds=600)
    assert await expire_overdue(uow, deadline + GRACE) == 0
    assert await expire_overdue(uow, deadline + GRACE + timedelta(seconds=1)) == 1
    assert uow.attempts[attempt.attempt_id].status == AttemptStatus.EXPIRED
    assert uow.published[0].attempt.score == 0


async def test_someone_elses_or_an_unknown_attempt_is_unknown() -> None:
    uow, assessment, learner = await world()
    attempt, _ = await start(uow, assessment, learner)
    with pytest.raises(UnknownAttempt):
        await submit(uow, attempt, learner=uuid.uuid4())
    with pytest.raises(UnknownAttempt):
        await submit(uow, replace(attempt, attempt_id=uuid.uuid4()))


async def test_answers_that_do_not_fit_leave_the_attempt_open() -> None:
    uow, assessment, learner = await world()
    attempt, _ = await start(uow, assessment, learner)
    with pytest.raises(InvalidField):
        await submit(uow, attempt, (Answer(uuid.uuid4(), value=True),))
    assert uow.attempts[attempt.attempt_id].status == AttemptStatus.IN_PROGRESS
    assert uow.published == []


def test_the_expiry_sweeper_runs_unless_switched_off() -> None:
    from assessment.dependencies import AssessmentDependencies
    from assessment.main import Settings, definition

    deps = AssessmentDependencies(clock=ManualClock(T0))
    assert len(definition(Settings(), deps).workers) == 1
    assert definition(Settings(run_expiry_sweeper=False), deps).workers == []
