"""Lifecycle rules of an enrollment with an in-memory unit of work."""

import uuid
from datetime import UTC, datetime

import pytest

from enrollment import usecases
from enrollment.domain import commands, events
from enrollment.domain.errors import (
    AlreadyEnrolled,
    BulkJobTooLarge,
    CohortExists,
    CohortOutsideRegion,
    EnrollmentClosed,
    EnrollmentWindowClosed,
    JobClosed,
    LearnerExists,
    UnknownCohort,
    UnknownCourse,
    UnknownJob,
)
from enrollment.domain.model import (
    Cohort,
    Enrollment,
    EnrollmentStatus,
    JobState,
    Outcome,
    Position,
)

from .fakes import FakeUnitOfWork

NOW = datetime(2026, 11, 1, tzinfo=UTC)


LESSONS = (uuid.uuid4(), uuid.uuid4())
COURSE_ID = uuid.uuid4()


def published(version: int = 1) -> commands.RecordCoursePublished:
    return commands.RecordCoursePublished(COURSE_ID, version, "Keuangan Desa", "KEU", LESSONS, NOW)


def lesson(learner: uuid.UUID, lesson_id: uuid.UUID) -> commands.RecordLessonCompleted:
    return commands.RecordLessonCompleted(learner, COURSE_ID, lesson_id, NOW)


def passed(learner: uuid.UUID, score: float = 80) -> commands.RecordPostTestPassed:
    return commands.RecordPostTestPassed(learner, COURSE_ID, score, NOW)


async def enrolled_learner(uow: FakeUnitOfWork) -> Enrollment:
    await usecases.record_course_published(published(), uow)
    learner = await usecases.register_learner(
        commands.RegisterLearner("Wa Ode", Position.SEKRETARIS_DESA, "74.01.01.2006"), uow
    )
    return await usecases.enroll_learner(commands.EnrollLearner(learner.learner_id, COURSE_ID), uow)


async def test_first_lesson_moves_an_enrollment_to_in_progress() -> None:
    uow = FakeUnitOfWork()
    enrollment = await enrolled_learner(uow)
    await usecases.record_lesson_completed(lesson(enrollment.learner_id, LESSONS[0]), uow)
    assert uow.enrollments[enrollment.enrollment_id].status == EnrollmentStatus.IN_PROGRESS


async def test_all_lessons_and_a_passed_post_test_complete_and_certify_once() -> None:
    uow = FakeUnitOfWork()
    enrollment = await enrolled_learner(uow)
    for lesson_id in LESSONS:
        await usecases.record_lesson_completed(lesson(enrollment.learner_id, lesson_id), uow)
    await usecases.record_post_test_passed(passed(enrollment.learner_id), uow)
    await usecases.record_post_test_passed(passed(enrollment.learner_id, 90), uow)
    await usecases.record_lesson_completed(lesson(enrollment.learner_id, LESSONS[0]), uow)
    assert uow.enrollments[enrollment.enrollment_id].status == EnrollmentStatus.COMPLETED
    assert uow.kinds().count("CourseCompleted") == 1
    assert len(uow.certificates) == 1


async def test_post_test_before_lessons_completes_when_the_last_lesson_arrives() -> None:
    uow = FakeUnitOfWork()
    enrollment = await enrolled_learner(uow)
    await usecases.record_post_test_passed(passed(enrollment.learner_id), uow)
    await usecases.record_lesson_completed(lesson(enrollment.learner_id, LESSONS[1]), uow)
    assert uow.enrollments[enrollment.enrollment_id].status == EnrollmentStatus.IN_PROGRESS
    await usecases.record_lesson_completed(lesson(enrollment.learner_id, LESSONS[0]), uow)
    assert uow.enrollments[enrollment.enrollment_id].status == EnrollmentStatus.COMPLETED


async def test_lessons_without_a_passed_post_test_do_not_complete() -> None:
    uow = FakeUnitOfWork()
    enrollment = await enrolled_learner(uow)
    for lesson_id in LESSONS:
        await usecases.record_lesson_completed(lesson(enrollment.learner_id, lesson_id), uow)
    assert uow.enrollments[enrollment.enrollment_id].status == EnrollmentStatus.IN_PROGRESS
    assert "CourseCompleted" not in uow.kinds()


async def test_enrolling_twice_in_the_same_course_is_refused() -> None:
    uow = FakeUnitOfWork()
    enrollment = await enrolled_learner(uow)
    with pytest.raises(AlreadyEnrolled):
        await usecases.enroll_learner(commands.EnrollLearner(enrollment.learner_id, COURSE_ID), uow)


async def test_enrolling_in_an_unpublished_course_is_refused() -> None:
    uow = FakeUnitOfWork()
    learner = await usecases.register_learner(
        commands.RegisterLearner("Wa Ode", Position.KEPALA_DESA, "74.01.01.2006"), uow
    )
    with pytest.raises(UnknownCourse):
        await usecases.enroll_learner(commands.EnrollLearner(learner.learner_id, uuid.uuid4()), uow)


async def test_a_withdrawn_learner_can_enroll_again_but_a_completed_one_cannot_withdraw() -> None:
    uow = FakeUnitOfWork()
    enrollment = await enrolled_learner(uow)
    await usecases.withdraw(commands.Withdraw(enrollment.enrollment_id), uow)
    again = await usecases.enroll_learner(
        commands.EnrollLearner(enrollment.learner_id, COURSE_ID), uow
    )
    for lesson_id in LESSONS:
        await usecases.record_lesson_completed(lesson(again.learner_id, lesson_id), uow)
    await usecases.record_post_test_passed(passed(again.learner_id), uow)
    with pytest.raises(EnrollmentClosed):
        await usecases.withdraw(commands.Withdraw(again.enrollment_id), uow)


async def test_moving_a_learner_emits_a_move_with_the_previous_village() -> None:
    uow = FakeUnitOfWork()
    learner = await usecases.register_learner(
        commands.RegisterLearner("Wa Ode", Position.KEPALA_DESA, "74.01.01.2006"), uow
    )
    await usecases.update_learner(
        commands.UpdateLearner(learner.learner_id, village_code="74.01.01.2007"), uow
    )
    moved = uow.published[-1]
    assert isinstance(moved, events.LearnerMoved)
    assert moved.previous_village_code == "74.01.01.2006"


async def test_progress_before_the_catalog_is_settled_when_the_course_arrives() -> None:
    uow = FakeUnitOfWork()
    enrollment = await enrolled_learner(uow)
    version_2 = commands.RecordCoursePublished(COURSE_ID, 2, "Keuangan Desa", "KEU", LESSONS, NOW)
    await usecases.record_course_published(version_2, uow)
    for lesson_id in LESSONS:
        await usecases.record_lesson_completed(lesson(enrollment.learner_id, lesson_id), uow)
    await usecases.record_post_test_passed(passed(enrollment.learner_id), uow)
    assert uow.enrollments[enrollment.enrollment_id].course_version == 1
    assert uow.enrollments[enrollment.enrollment_id].status == EnrollmentStatus.COMPLETED


def test_domain_positions_match_the_contract_positions() -> None:
    import lms_contracts

    assert {p.value for p in Position} == {p.value for p in lms_contracts.Position}


async def test_a_cohort_accepts_enrollments_only_within_its_window() -> None:
    from datetime import timedelta

    uow = FakeUnitOfWork()
    await usecases.record_course_published(published(), uow)
    learner = await usecases.register_learner(
        commands.RegisterLearner("Wa Ode", Position.KEPALA_DESA, "74.01.01.2006"), uow
    )
    today = datetime.now(UTC)
    uow.cohorts[(COURSE_ID, "Angkatan 1")] = Cohort(
        COURSE_ID, "Angkatan 1", today - timedelta(days=30), today - timedelta(days=1)
    )
    uow.cohorts[(COURSE_ID, "Angkatan 2")] = Cohort(
        COURSE_ID, "Angkatan 2", today - timedelta(days=1), today + timedelta(days=30)
    )
    with pytest.raises(EnrollmentWindowClosed):
        await usecases.enroll_learner(
            commands.EnrollLearner(learner.learner_id, COURSE_ID, "Angkatan 1"), uow
        )
    with pytest.raises(UnknownCohort):
        await usecases.enroll_learner(
            commands.EnrollLearner(learner.learner_id, COURSE_ID, "Angkatan 9"), uow
        )
    enrolled = await usecases.enroll_learner(
        commands.EnrollLearner(learner.learner_id, COURSE_ID, "Angkatan 2"), uow
    )
    assert enrolled.cohort == "Angkatan 2"


async def test_a_second_registration_with_the_same_nik_is_refused_naming_the_learner() -> None:
    uow = FakeUnitOfWork()
    first = await usecases.register_learner(
        commands.RegisterLearner("Wa Ode", Position.KEPALA_DESA, "74.01.01.2006", nik_hash="h1"),
        uow,
    )
    with pytest.raises(LearnerExists) as refused:
        await usecases.register_learner(
            commands.RegisterLearner(
                "La Ode", Position.KEPALA_DESA, "74.01.01.2007", nik_hash="h1"
            ),
            uow,
        )
    assert refused.value.learner_id == first.learner_id
    assert len(uow.learners) == 1


async def test_a_cohort_needs_a_published_course_and_a_name_of_its_own() -> None:
    uow = FakeUnitOfWork()
    with pytest.raises(UnknownCourse):
        await usecases.create_cohort(commands.CreateCohort(COURSE_ID, "Angkatan 1"), uow)
    await usecases.record_course_published(published(), uow)
    await usecases.create_cohort(commands.CreateCohort(COURSE_ID, "Angkatan 1"), uow)
    with pytest.raises(CohortExists):
        await usecases.create_cohort(commands.CreateCohort(COURSE_ID, "Angkatan 1"), uow)


def bulk(cohort: str | None = None, cap: int = 10) -> commands.StartBulkEnrollment:
    return commands.StartBulkEnrollment(
        uuid.uuid4(), COURSE_ID, "74", (Position.KEPALA_DESA,), cohort, "admin", cap
    )


async def test_a_bulk_job_is_planned_for_the_latest_version_and_refused_past_the_cap() -> None:
    uow = FakeUnitOfWork()
    await usecases.record_course_published(published(1), uow)
    await usecases.record_course_published(published(2), uow)
    for village in ("74.01.01.2006", "74.01.01.2007", "32.01.01.1001"):
        await usecases.register_learner(
            commands.RegisterLearner("Wa Ode", Position.KEPALA_DESA, village), uow
        )
    command = bulk()
    assert await usecases.start_bulk_enrollment(command, uow) == command.job_id
    planned, total = uow.jobs[command.job_id]
    assert (planned.course_version, total) == (2, 2)
    with pytest.raises(BulkJobTooLarge):
        await usecases.start_bulk_enrollment(bulk(cap=1), uow)


async def test_a_bulk_job_into_a_cohort_follows_the_clock_of_the_unit_of_work() -> None:
    from datetime import timedelta

    uow = FakeUnitOfWork()
    await usecases.record_course_published(published(), uow)
    uow.cohorts[(COURSE_ID, "Angkatan 1")] = Cohort(
        COURSE_ID, "Angkatan 1", NOW, NOW + timedelta(days=30)
    )
    uow.clock.set(NOW - timedelta(days=1))
    with pytest.raises(EnrollmentWindowClosed):
        await usecases.start_bulk_enrollment(bulk("Angkatan 1"), uow)
    uow.clock.set(NOW + timedelta(days=1))
    await usecases.start_bulk_enrollment(bulk("Angkatan 1"), uow)
    with pytest.raises(UnknownCohort):
        await usecases.start_bulk_enrollment(bulk("Angkatan 9"), uow)


def official(name: str, nik_hash: str | None = None) -> commands.ImportRows:
    register = commands.RegisterLearner(
        name, Position.SEKRETARIS_DESA, "74.01.01.2006", nik_hash=nik_hash
    )
    return commands.ImportRows((register,), COURSE_ID)


async def import_one(row: commands.ImportRows, uow: FakeUnitOfWork) -> usecases.RowDone:
    (done,) = await usecases.import_rows(row, uow)
    return done


async def test_an_import_row_registers_a_person_once_by_nik_else_by_name_village_and_position() -> (
    None
):
    uow = FakeUnitOfWork()
    await usecases.record_course_published(published(), uow)
    first = await import_one(official("Wa Ode Sitti"), uow)
    assert (first.outcome, first.enrollment) == (Outcome.REGISTERED, Outcome.ENROLLED)
    # the same person written another way: case, spaces, accents and punctuation
    again = await import_one(official("  WA  ODE sítti. "), uow)
    assert (again.outcome, again.enrollment) == (
        Outcome.ALREADY_REGISTERED,
        Outcome.ALREADY_ENROLLED,
    )
    assert again.learner_id == first.learner_id
    # a NIK decides over the name: two NIKs are two people, one NIK is one person
    by_nik = await import_one(official("Wa Ode Sitti", nik_hash="a" * 64), uow)
    other = await import_one(official("Wa Ode Sitti", nik_hash="b" * 64), uow)
    renamed = await import_one(official("Sitti Wa Ode", nik_hash="b" * 64), uow)
    # the first had no NIK: the key decides, and the NIK is theirs from now on
    assert (by_nik.outcome, by_nik.learner_id) == (Outcome.ALREADY_REGISTERED, first.learner_id)
    assert other.outcome == Outcome.REGISTERED
    assert (renamed.outcome, renamed.learner_id) == (Outcome.ALREADY_REGISTERED, other.learner_id)
    assert len(uow.learners) == 2


async def test_an_import_row_refused_its_course_is_still_registered_with_the_reason() -> None:
    uow = FakeUnitOfWork()
    await usecases.record_course_published(published(), uow)
    uow.cohorts[(COURSE_ID, "Buton")] = Cohort(COURSE_ID, "Buton", region_code="74.04")
    row = official("La Ode Arif")
    done = await import_one(commands.ImportRows(row.rows, COURSE_ID, cohort="Buton"), uow)
    assert (done.outcome, done.enrollment) == (Outcome.REGISTERED, Outcome.NOT_ENROLLED)
    assert isinstance(done.refusal, CohortOutsideRegion)


async def test_a_regional_cohort_admits_its_region_only_and_bulk_jobs_within_it() -> None:
    uow = FakeUnitOfWork()
    await usecases.record_course_published(published(), uow)
    await usecases.create_cohort(
        commands.CreateCohort(COURSE_ID, "Kolaka 1", region_code="74.01"), uow
    )
    with pytest.raises(CohortOutsideRegion):
        await usecases.start_bulk_enrollment(bulk("Kolaka 1"), uow)  # the whole province
    inside = commands.StartBulkEnrollment(
        uuid.uuid4(), COURSE_ID, "74.01.01", (), "Kolaka 1", "test", 1000
    )
    assert await usecases.start_bulk_enrollment(inside, uow) == inside.job_id
    # 74.010 is not under 74.01: codes are compared level by level
    assert not Cohort(COURSE_ID, "x", region_code="74.01").admits("74.010.01.2001")


async def test_a_job_is_cancelled_while_open_and_never_after() -> None:
    uow = FakeUnitOfWork()
    job_id = uuid.uuid4()
    uow.job_states[job_id] = JobState.RUNNING
    await usecases.cancel_job(commands.CancelJob(job_id), uow)
    assert uow.job_states[job_id] == JobState.CANCELLED
    with pytest.raises(JobClosed):
        await usecases.cancel_job(commands.CancelJob(job_id), uow)
    with pytest.raises(UnknownJob):
        await usecases.cancel_job(commands.CancelJob(uuid.uuid4()), uow)
