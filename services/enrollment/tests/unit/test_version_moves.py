"""Moving learners between course versions, with an in-memory unit of work."""

import uuid
from datetime import UTC, datetime

import pytest

from enrollment import usecases
from enrollment.domain import commands, events
from enrollment.domain.errors import AlreadyCompleted, NotEnrolled, UnknownCohort, UnknownVersion
from enrollment.domain.model import Enrollment, EnrollmentStatus, Position

from .fakes import FakeUnitOfWork

NOW = datetime(2027, 3, 1, tzinfo=UTC)
COURSE_ID = uuid.uuid4()
V1_LESSONS = (uuid.uuid4(), uuid.uuid4(), uuid.uuid4())
PERMENDAGRI_2027 = uuid.uuid4()  # the lesson version 2 adds


def published(version: int, lessons: tuple[uuid.UUID, ...]) -> commands.RecordCoursePublished:
    return commands.RecordCoursePublished(
        COURSE_ID, version, "Administrasi Desa", "ADM-01", lessons, NOW, lessons
    )


async def learner_on_version_1(uow: FakeUnitOfWork) -> Enrollment:
    await usecases.record_course_published(published(1, V1_LESSONS), uow)
    await usecases.record_course_published(published(2, (*V1_LESSONS, PERMENDAGRI_2027)), uow)
    learner = await usecases.register_learner(
        commands.RegisterLearner("La Ode Muhammad", Position.KEPALA_DESA, "74.01.01.2006"), uow
    )
    enrollment = await usecases.enroll_learner(
        commands.EnrollLearner(learner.learner_id, COURSE_ID), uow
    )
    enrollment.course_version = 1  # enrolled before version 2 was published
    return enrollment


def move(enrollment: Enrollment, version: int) -> commands.MoveToVersion:
    return commands.MoveToVersion(enrollment.learner_id, COURSE_ID, version)


async def do(uow: FakeUnitOfWork, enrollment: Enrollment, *lessons: uuid.UUID) -> None:
    for lesson_id in lessons:
        await usecases.record_lesson_completed(
            commands.RecordLessonCompleted(enrollment.learner_id, COURSE_ID, lesson_id, NOW), uow
        )


async def test_a_moved_learner_needs_the_new_required_lesson_before_completing() -> None:
    uow = FakeUnitOfWork()
    enrollment = await learner_on_version_1(uow)
    await usecases.move_to_version(move(enrollment, 2), uow)
    await do(uow, enrollment, *V1_LESSONS)
    await usecases.record_post_test_passed(
        commands.RecordPostTestPassed(enrollment.learner_id, COURSE_ID, 90, NOW), uow
    )
    assert uow.enrollments[enrollment.enrollment_id].status == EnrollmentStatus.IN_PROGRESS
    assert uow.certificates == []
    await do(uow, enrollment, PERMENDAGRI_2027)
    assert uow.enrollments[enrollment.enrollment_id].status == EnrollmentStatus.COMPLETED
    assert len(uow.certificates) == 1


async def test_a_move_is_an_event_numbered_per_enrollment() -> None:
    uow = FakeUnitOfWork()
    enrollment = await learner_on_version_1(uow)
    await usecases.move_to_version(move(enrollment, 2), uow)
    await usecases.move_to_version(move(enrollment, 2), uow)  # already there: nothing
    await usecases.move_to_version(move(enrollment, 1), uow)
    moves = [e for e in uow.published if isinstance(e, events.VersionChanged)]
    assert [m.from_version for m in moves] == [1, 2]
    assert uow.enrollments[enrollment.enrollment_id].version_move == 2
    assert uow.enrollments[enrollment.enrollment_id].course_version == 1


async def test_moving_to_a_version_that_asks_less_completes_at_once() -> None:
    uow = FakeUnitOfWork()
    enrollment = await learner_on_version_1(uow)
    await usecases.move_to_version(move(enrollment, 2), uow)
    await do(uow, enrollment, *V1_LESSONS)
    await usecases.record_post_test_passed(
        commands.RecordPostTestPassed(enrollment.learner_id, COURSE_ID, 90, NOW), uow
    )
    await usecases.move_to_version(move(enrollment, 1), uow)
    assert uow.enrollments[enrollment.enrollment_id].status == EnrollmentStatus.COMPLETED
    assert uow.kinds()[-3:] == ["VersionChanged", "CourseCompleted", "CertificateIssued"]


async def test_a_learner_who_completed_keeps_their_version() -> None:
    uow = FakeUnitOfWork()
    enrollment = await learner_on_version_1(uow)
    await do(uow, enrollment, *V1_LESSONS)
    await usecases.record_post_test_passed(
        commands.RecordPostTestPassed(enrollment.learner_id, COURSE_ID, 90, NOW), uow
    )
    assert uow.enrollments[enrollment.enrollment_id].status == EnrollmentStatus.COMPLETED
    with pytest.raises(AlreadyCompleted):
        await usecases.move_to_version(move(enrollment, 2), uow)


async def test_unknown_versions_and_strangers_are_refused() -> None:
    uow = FakeUnitOfWork()
    enrollment = await learner_on_version_1(uow)
    with pytest.raises(UnknownVersion):
        await usecases.move_to_version(move(enrollment, 3), uow)
    with pytest.raises(NotEnrolled):
        await usecases.move_to_version(commands.MoveToVersion(uuid.uuid4(), COURSE_ID, 2), uow)
    assert not any(isinstance(e, events.VersionChanged) for e in uow.published)


async def test_a_course_move_job_counts_the_unfinished_learners_not_yet_moved() -> None:
    uow = FakeUnitOfWork()
    enrollment = await learner_on_version_1(uow)
    job_id = uuid.uuid4()
    await usecases.start_version_move(
        commands.StartVersionMove(job_id, COURSE_ID, 2, None, "admin"), uow
    )
    assert uow.jobs[job_id][1] == 1
    with pytest.raises(UnknownVersion):
        await usecases.start_version_move(
            commands.StartVersionMove(uuid.uuid4(), COURSE_ID, 9, None, "admin"), uow
        )
    with pytest.raises(UnknownCohort):
        await usecases.start_version_move(
            commands.StartVersionMove(uuid.uuid4(), COURSE_ID, 2, "Angkatan 9", "admin"), uow
        )
    assert enrollment.status == EnrollmentStatus.ENROLLED
