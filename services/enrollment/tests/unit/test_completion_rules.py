"""Completion rules of a course version, decided where the certificate is issued and
explained to the learner in Bahasa Indonesia."""

import uuid
from datetime import UTC, datetime

import pytest

from enrollment import usecases
from enrollment.api.explanations import explain
from enrollment.domain import commands
from enrollment.domain.completion import (
    CompletionRules,
    CourseVersion,
    Progress,
    Requirement,
    missing_for,
)
from enrollment.domain.errors import AlreadyRevoked, UnknownCertificate
from enrollment.domain.events import CertificateRevoked
from enrollment.domain.model import Enrollment, EnrollmentStatus, Position
from servicekit.i18n import speaking

from .fakes import FakeUnitOfWork

NOW = datetime(2027, 3, 1, tzinfo=UTC)
LESSONS = (uuid.uuid4(), uuid.uuid4())
TITLES = ((LESSONS[0], "Kewenangan Desa"), (LESSONS[1], "Perubahan Permendagri 2027"))


def published(course_id: uuid.UUID, rules: CompletionRules, title: str = "Keuangan Desa"):
    return commands.RecordCoursePublished(
        course_id, 1, title, "K", LESSONS, NOW, LESSONS, TITLES, rules, 12
    )


async def enrolled(uow: FakeUnitOfWork, course_id: uuid.UUID, learner_id=None) -> Enrollment:
    if learner_id is None:
        learner = await usecases.register_learner(
            commands.RegisterLearner("Wa Ode Sitti", Position.KAUR_KEUANGAN, "74.01.01.2006"), uow
        )
        learner_id = learner.learner_id
    return await usecases.enroll_learner(commands.EnrollLearner(learner_id, course_id), uow)


async def all_lessons_and_post_test(
    uow: FakeUnitOfWork, enrollment: Enrollment, score: float = 90
) -> None:
    for lesson_id in LESSONS:
        await usecases.record_lesson_completed(
            commands.RecordLessonCompleted(
                enrollment.learner_id, enrollment.course_id, lesson_id, NOW
            ),
            uow,
        )
    await usecases.record_post_test_passed(
        commands.RecordPostTestPassed(enrollment.learner_id, enrollment.course_id, score, NOW),
        uow,
    )


def status(uow: FakeUnitOfWork, enrollment: Enrollment) -> EnrollmentStatus:
    return uow.enrollments[enrollment.enrollment_id].status


async def test_a_version_that_asks_for_the_pre_test_first_completes_only_once_it_is_taken() -> None:
    uow, course_id = FakeUnitOfWork(), uuid.uuid4()
    await usecases.record_course_published(
        published(course_id, CompletionRules(pre_test_before_lessons=True)), uow
    )
    enrollment = await enrolled(uow, course_id)
    await all_lessons_and_post_test(uow, enrollment)
    assert status(uow, enrollment) == EnrollmentStatus.IN_PROGRESS and uow.certificates == []
    await usecases.record_pre_test_taken(
        commands.RecordPreTestTaken(enrollment.learner_id, course_id, NOW), uow
    )
    assert status(uow, enrollment) == EnrollmentStatus.COMPLETED
    assert len(uow.certificates) == 1


async def test_a_minimum_post_test_score_is_the_best_passed_score() -> None:
    uow, course_id = FakeUnitOfWork(), uuid.uuid4()
    await usecases.record_course_published(
        published(course_id, CompletionRules(min_post_test_score=80)), uow
    )
    enrollment = await enrolled(uow, course_id)
    await all_lessons_and_post_test(uow, enrollment, score=75)
    assert status(uow, enrollment) == EnrollmentStatus.IN_PROGRESS
    await usecases.record_post_test_passed(
        commands.RecordPostTestPassed(enrollment.learner_id, course_id, 82.5, NOW), uow
    )
    assert status(uow, enrollment) == EnrollmentStatus.COMPLETED


async def test_a_course_waiting_for_its_prerequisite_completes_when_that_one_does() -> None:
    uow = FakeUnitOfWork()
    basic, advanced = uuid.uuid4(), uuid.uuid4()
    await usecases.record_course_published(published(basic, CompletionRules()), uow)
    await usecases.record_course_published(
        published(advanced, CompletionRules(prerequisite_course_ids=(basic,)), "Lanjutan"), uow
    )
    second = await enrolled(uow, advanced)
    first = await enrolled(uow, basic, second.learner_id)
    await all_lessons_and_post_test(uow, second)
    assert status(uow, second) == EnrollmentStatus.IN_PROGRESS
    await all_lessons_and_post_test(uow, first)
    assert status(uow, first) == status(uow, second) == EnrollmentStatus.COMPLETED
    assert len(uow.certificates) == 2


def test_what_is_missing_is_named_in_bahasa_indonesia() -> None:
    prerequisite = uuid.uuid4()
    course = CourseVersion(
        uuid.uuid4(),
        2,
        "Administrasi Desa",
        frozenset(LESSONS),
        LESSONS,
        dict(TITLES),
        CompletionRules(True, 80, (prerequisite,)),
    )
    missing = missing_for(
        course,
        Progress(frozenset(LESSONS[:1]), best_post_test=75),
        {prerequisite: "Dasar Pemerintahan Desa"},
    )
    assert [m.requirement for m in missing] == [
        Requirement.PREREQUISITE,
        Requirement.PRE_TEST,
        Requirement.REQUIRED_LESSON,
        Requirement.POST_TEST_SCORE,
    ]
    assert explain(missing) == (
        'Selesaikan dulu pelatihan prasyarat: "Dasar Pemerintahan Desa". '
        "Kerjakan pre-test sebelum mempelajari materi. "
        'Materi wajib yang belum selesai (1): "Perubahan Permendagri 2027". '
        "Nilai post-test minimal 80; nilai terbaik Anda 75."
    )
    assert explain(missing_for(course, Progress())).endswith(
        "Lulus post-test dengan nilai minimal 80."
    )
    done = Progress(frozenset(LESSONS), True, 80, frozenset({prerequisite}))
    assert explain(missing_for(course, done)) == "Semua syarat kelulusan terpenuhi."
    with speaking("en"):
        assert explain(missing).startswith(
            'Complete the prerequisite courses first: "Dasar Pemerintahan Desa". '
            "Take the pre-test before the lessons. "
            'Required lessons not done yet (1): "Perubahan Permendagri 2027".'
        )


async def test_a_certificate_is_revoked_once_with_its_reason() -> None:
    uow, course_id = FakeUnitOfWork(), uuid.uuid4()
    await usecases.record_course_published(published(course_id, CompletionRules()), uow)
    enrollment = await enrolled(uow, course_id)
    await all_lessons_and_post_test(uow, enrollment)
    (code,) = uow.certificates
    revoke = commands.RevokeCertificate(code, "  data peserta keliru ", "admin-1")
    revoked = await usecases.revoke_certificate(revoke, uow)
    assert (revoked.revoke_reason, revoked.revoked_at) == ("data peserta keliru", uow.now())
    assert isinstance(uow.published[-1], CertificateRevoked)
    with pytest.raises(AlreadyRevoked):
        await usecases.revoke_certificate(revoke, uow)
    with pytest.raises(UnknownCertificate):
        await usecases.revoke_certificate(commands.RevokeCertificate("NOPE", "x" * 5, "a"), uow)
    assert status(uow, enrollment) == EnrollmentStatus.COMPLETED
