"""Use cases of the enrollment service. Each takes a command and a unit of work; ``HANDLERS``
at the end is the table the runner dispatches on.

What handles what:

| command                 | use case                  | emits                                        |
|-------------------------|---------------------------|----------------------------------------------|
| RegisterLearner         | register_learner          | LearnerRegistered (+ ContactChanged)         |
| UpdateLearner           | update_learner            | LearnerMoved, ContactChanged                 |
| RecordContactReads      | record_contact_reads      | ContactsViewed (another person's contact)    |
| StartImport             | start_import              | (as ImportRows, a chunk at a time in the job)|
| ImportRows              | import_rows               | as RegisterLearner and EnrollLearner         |
| CancelJob               | cancel_job                |                                              |
| EnrollLearner           | enroll_learner            | Enrolled                                     |
| Withdraw                | withdraw                  | Withdrawn                                    |
| CreateCohort            | create_cohort             |                                              |
| StartBulkEnrollment     | start_bulk_enrollment     | (Enrolled, written by the job's chunks)      |
| MoveToVersion           | move_to_version           | VersionChanged (+ CourseCompleted, ...)      |
| StartVersionMove        | start_version_move        | (VersionChanged, by the job's chunks)        |
| RecordCoursePublished   | record_course_published   | CourseCompleted, CertificateIssued (catch-up)|
| RecordLessonCompleted   | record_lesson_completed   | CourseCompleted, CertificateIssued           |
| RecordLessonsCompleted  | record_lessons_completed  | (as RecordLessonCompleted, for those left)   |
| RevokeCertificate       | revoke_certificate        | CertificateRevoked                           |
| RecordPreTestTaken      | record_pre_test_taken     | CourseCompleted, CertificateIssued           |
| RecordPostTestPassed    | record_post_test_passed   | CourseCompleted, CertificateIssued           |

A completion also settles the learner's other courses that wait for it as a prerequisite.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from .domain import commands, events
from .domain.errors import (
    AlreadyEnrolled,
    BulkJobTooLarge,
    CohortExists,
    CohortOutsideRegion,
    DomainError,
    EnrollmentWindowClosed,
    JobClosed,
    LearnerExists,
    NotEnrolled,
    UnknownCertificate,
    UnknownCohort,
    UnknownCourse,
    UnknownJob,
    UnknownLearner,
    UnknownVersion,
)
from .domain.identity import NaturalKey, same_person
from .domain.model import (
    OPEN_JOB_STATES,
    BulkEnrollment,
    Certificate,
    Cohort,
    CourseVersion,
    Enrollment,
    EnrollmentStatus,
    JobState,
    Learner,
    Outcome,
    VersionMove,
)

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class UnitOfWork(Protocol):
    def publish(self, event: events.DomainEvent) -> None: ...
    def now(self) -> datetime: ...
    async def get_learner(self, learner_id: uuid.UUID, *, lock: bool = False) -> Learner | None: ...
    async def find_learner_by_nik(self, nik_hash: str) -> Learner | None: ...
    async def learners_at(self, village_code: str, position: str) -> list[Learner]: ...
    async def recall_people(self, places: set[tuple[str, str]], nik_hashes: set[str]) -> None: ...
    async def add_learner(self, learner: Learner, now: datetime) -> None: ...
    async def save_learner(self, learner: Learner, now: datetime) -> None: ...
    async def latest_course(self, course_id: uuid.UUID) -> CourseVersion | None: ...
    async def get_cohort(self, course_id: uuid.UUID, name: str) -> Cohort | None: ...
    async def add_cohort(self, cohort: Cohort) -> bool: ...
    async def course(self, course_id: uuid.UUID, version: int) -> CourseVersion | None: ...
    async def add_course(
        self, course: CourseVersion, code: str, published_at: datetime
    ) -> None: ...
    async def get_enrollment(
        self, enrollment_id: uuid.UUID, *, lock: bool = False
    ) -> Enrollment | None: ...
    async def active_enrollment(
        self, learner_id: uuid.UUID, course_id: uuid.UUID
    ) -> Enrollment | None: ...
    async def enrollments_in_progress(
        self, course_id: uuid.UUID, version: int
    ) -> list[Enrollment]: ...
    async def add_enrollment(self, enrollment: Enrollment) -> None: ...
    async def save_enrollment(self, enrollment: Enrollment) -> None: ...
    async def add_lesson_completion(
        self, learner_id: uuid.UUID, course_id: uuid.UUID, lesson_id: uuid.UUID, at: datetime
    ) -> None: ...
    async def add_lesson_completions(
        self, done: tuple[commands.LessonDone, ...]
    ) -> set[tuple[uuid.UUID, uuid.UUID]]: ...
    async def add_post_test_pass(
        self, learner_id: uuid.UUID, course_id: uuid.UUID, score: float, at: datetime
    ) -> float: ...
    async def add_pre_test(
        self, learner_id: uuid.UUID, course_id: uuid.UUID, at: datetime
    ) -> None: ...
    async def completed_courses(self, learner_id: uuid.UUID) -> frozenset[uuid.UUID]: ...
    async def in_progress_of(self, learner_id: uuid.UUID) -> list[Enrollment]: ...
    async def add_certificate(
        self,
        certificate_id: uuid.UUID,
        code: str,
        enrollment: Enrollment,
        learner: Learner,
        issued_at: datetime,
        training_hours: int | None = None,
    ) -> None: ...
    async def get_certificate(self, code: str) -> Certificate | None: ...
    async def save_revocation(self, certificate: Certificate, revoked_by: str) -> None: ...
    async def count_bulk_learners(self, bulk: BulkEnrollment) -> int: ...
    async def add_bulk_job(
        self, job_id: uuid.UUID, bulk: BulkEnrollment, total: int, created_by: str
    ) -> None: ...
    async def add_import_job(self, cmd: commands.StartImport) -> None: ...
    async def job_state(self, job_id: uuid.UUID) -> JobState | None: ...
    async def close_job(self, job_id: uuid.UUID, state: JobState) -> None: ...
    async def count_version_move(self, move: VersionMove) -> int: ...
    async def add_version_move_job(
        self, job_id: uuid.UUID, move: VersionMove, total: int, created_by: str
    ) -> None: ...


def verification_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))


async def register_learner(cmd: commands.RegisterLearner, uow: UnitOfWork) -> Learner:
    if cmd.nik_hash and (existing := await uow.find_learner_by_nik(cmd.nik_hash)):
        raise LearnerExists(existing.learner_id, existing.village_code)
    at = uow.now()
    learner = Learner(
        learner_id=uuid.uuid4(),
        full_name=cmd.full_name.strip(),
        position=cmd.position,
        village_code=cmd.village_code,
        phone=cmd.phone,
        email=cmd.email,
        nik_hash=cmd.nik_hash,
        registered_at=at,
    )
    await uow.add_learner(learner, at)
    uow.publish(events.LearnerRegistered(learner))
    if learner.phone or learner.email:
        uow.publish(events.ContactChanged(learner, at))
    return learner


async def update_learner(cmd: commands.UpdateLearner, uow: UnitOfWork) -> Learner:
    learner = await uow.get_learner(cmd.learner_id, lock=True)
    if learner is None:
        raise UnknownLearner(str(cmd.learner_id))
    at = uow.now()
    previous = (learner.full_name, learner.position, learner.village_code)
    contact_before = (learner.phone, learner.email)
    previous_village = learner.village_code
    if cmd.full_name is not None:
        learner.full_name = cmd.full_name.strip()
    if cmd.position is not None:
        learner.position = cmd.position
    if cmd.village_code is not None:
        learner.village_code = cmd.village_code
    if cmd.phone is not None or cmd.clear_phone:
        learner.phone = None if cmd.clear_phone else cmd.phone
    if cmd.email is not None or cmd.clear_email:
        learner.email = None if cmd.clear_email else cmd.email
    await uow.save_learner(learner, at)
    if (learner.full_name, learner.position, learner.village_code) != previous:
        moved_from = previous_village if learner.village_code != previous_village else None
        uow.publish(events.LearnerMoved(learner, moved_from, at))
    if (learner.phone, learner.email) != contact_before:
        uow.publish(events.ContactChanged(learner, at))
    return learner


async def record_contact_reads(cmd: commands.RecordContactReads, uow: UnitOfWork) -> None:
    """Each read of someone else's contact details is logged (UU PDP No. 27/2022, ADR 22),
    in the transaction of the read; a learner reading their own is not."""
    others = tuple(dict.fromkeys(i for i in cmd.learner_ids if i != cmd.viewer.learner_id))
    if others:
        uow.publish(events.ContactsViewed(cmd.viewer, others, uow.now()))


async def enroll_learner(cmd: commands.EnrollLearner, uow: UnitOfWork) -> Enrollment:
    learner = await uow.get_learner(cmd.learner_id)
    if learner is None:
        raise UnknownLearner(str(cmd.learner_id))
    course = await uow.latest_course(cmd.course_id)
    if course is None:
        raise UnknownCourse(str(cmd.course_id))
    at = uow.now()
    if cmd.cohort is not None:
        cohort = await uow.get_cohort(cmd.course_id, cmd.cohort)
        if cohort is None:
            raise UnknownCohort(cmd.cohort)
        if not cohort.is_open(at):
            raise EnrollmentWindowClosed(cmd.cohort)
        if not cohort.admits(learner.village_code):
            raise CohortOutsideRegion()
    existing = await uow.active_enrollment(cmd.learner_id, cmd.course_id)
    if existing is not None:
        raise AlreadyEnrolled(existing.enrollment_id)
    enrollment = Enrollment(
        enrollment_id=uuid.uuid4(),
        learner_id=learner.learner_id,
        course_id=course.course_id,
        course_version=course.version,
        course_title=course.title,
        status=EnrollmentStatus.ENROLLED,
        enrolled_at=at,
        cohort=cmd.cohort,
    )
    await uow.add_enrollment(enrollment)
    uow.publish(events.Enrolled(enrollment, learner))
    return enrollment


async def withdraw(cmd: commands.Withdraw, uow: UnitOfWork) -> Enrollment:
    enrollment = await uow.get_enrollment(cmd.enrollment_id, lock=True)
    if enrollment is None:
        raise UnknownLearner(str(cmd.enrollment_id))
    learner = await uow.get_learner(enrollment.learner_id)
    assert learner is not None
    enrollment.withdraw(uow.now())
    await uow.save_enrollment(enrollment)
    uow.publish(events.Withdrawn(enrollment, learner, cmd.reason))
    return enrollment


@dataclass(frozen=True)
class RowDone:
    """What an import did with one row: the learner it found or registered, and what became
    of their enrollment (None without a course; the refusal when not enrolled)."""

    outcome: Outcome
    learner_id: uuid.UUID
    enrollment: Outcome | None = None
    refusal: DomainError | None = None


async def known_person(register: commands.RegisterLearner, uow: UnitOfWork) -> Learner | None:
    """The learner this row describes, if registered already: by NIK, else by natural key."""
    if register.nik_hash and (by_nik := await uow.find_learner_by_nik(register.nik_hash)):
        return by_nik
    key = NaturalKey.of(register.full_name, register.village_code, register.position)
    candidates = await uow.learners_at(register.village_code, register.position.value)
    return next((c for c in candidates if same_person(c, register.nik_hash, key)), None)


async def import_rows(cmd: commands.ImportRows, uow: UnitOfWork) -> list[RowDone]:
    """Each row's outcome, in order; the people the rows may be are read at once first."""
    await uow.recall_people(
        {(r.village_code, r.position.value) for r in cmd.rows},
        {r.nik_hash for r in cmd.rows if r.nik_hash},
    )
    return [await import_row(register, cmd, uow) for register in cmd.rows]


async def import_row(
    register: commands.RegisterLearner, cmd: commands.ImportRows, uow: UnitOfWork
) -> RowDone:
    known = await known_person(register, uow)
    if known is not None and known.nik_hash is None and register.nik_hash:
        # found by name, village and position: their NIK, first given now, is theirs
        known.nik_hash = register.nik_hash
        await uow.save_learner(known, uow.now())
    learner = known or await register_learner(register, uow)
    outcome = Outcome.ALREADY_REGISTERED if known else Outcome.REGISTERED
    if cmd.course_id is None:
        return RowDone(outcome, learner.learner_id)
    try:
        enroll = commands.EnrollLearner(learner.learner_id, cmd.course_id, cmd.cohort)
        await enroll_learner(enroll, uow)
    except AlreadyEnrolled:
        return RowDone(outcome, learner.learner_id, Outcome.ALREADY_ENROLLED)
    except DomainError as refusal:
        return RowDone(outcome, learner.learner_id, Outcome.NOT_ENROLLED, refusal)
    return RowDone(outcome, learner.learner_id, Outcome.ENROLLED)


async def open_cohort(
    course_id: uuid.UUID, name: str | None, region_code: str, uow: UnitOfWork
) -> None:
    """Refuse a cohort a job cannot enroll ``region_code``'s learners into."""
    if name is None:
        return
    cohort = await uow.get_cohort(course_id, name)
    if cohort is None:
        raise UnknownCohort(name)
    if not cohort.is_open(uow.now()):
        raise EnrollmentWindowClosed(name)
    if not cohort.admits(region_code):
        raise CohortOutsideRegion()


async def start_import(cmd: commands.StartImport, uow: UnitOfWork) -> uuid.UUID:
    """Plan the import and leave its rows for a worker (``jobs.py``)."""
    if cmd.course_id is not None:
        if await uow.latest_course(cmd.course_id) is None:
            raise UnknownCourse(str(cmd.course_id))
        await open_cohort(cmd.course_id, cmd.cohort, cmd.region_code, uow)
    await uow.add_import_job(cmd)
    return cmd.job_id


async def cancel_job(cmd: commands.CancelJob, uow: UnitOfWork) -> uuid.UUID:
    """Stop a job after the chunk in flight; what it did so far stays done."""
    state = await uow.job_state(cmd.job_id)
    if state is None:
        raise UnknownJob(str(cmd.job_id))
    if state not in OPEN_JOB_STATES:
        raise JobClosed(f"the job is {state.value}")
    await uow.close_job(cmd.job_id, JobState.CANCELLED)
    return cmd.job_id


async def create_cohort(cmd: commands.CreateCohort, uow: UnitOfWork) -> Cohort:
    if await uow.latest_course(cmd.course_id) is None:
        raise UnknownCourse(str(cmd.course_id))
    cohort = Cohort(
        cmd.course_id,
        cmd.name,
        cmd.enrollment_opens_at,
        cmd.enrollment_closes_at,
        cmd.region_code,
    )
    if not await uow.add_cohort(cohort):
        raise CohortExists(cmd.name)
    return cohort


async def start_bulk_enrollment(cmd: commands.StartBulkEnrollment, uow: UnitOfWork) -> uuid.UUID:
    """Plan the job and leave it for a worker (``jobs.py``), which enrolls its learners in
    set-based chunks."""
    course = await uow.latest_course(cmd.course_id)
    if course is None:
        raise UnknownCourse(str(cmd.course_id))
    await open_cohort(cmd.course_id, cmd.cohort, cmd.region_code, uow)
    bulk = BulkEnrollment(
        course.course_id, course.version, course.title, cmd.region_code, cmd.positions, cmd.cohort
    )
    total = await uow.count_bulk_learners(bulk)
    if total > cmd.max_learners:
        raise BulkJobTooLarge(total, cmd.max_learners)
    await uow.add_bulk_job(cmd.job_id, bulk, total, cmd.requested_by)
    return cmd.job_id


async def move_to_version(cmd: commands.MoveToVersion, uow: UnitOfWork) -> Enrollment:
    """From now on the learner's requirements are those of the target version; lessons they
    did that the version also has still count. Moving to the version they follow changes
    nothing and publishes nothing."""
    target = await uow.course(cmd.course_id, cmd.version)
    if target is None:
        raise UnknownVersion(cmd.version)
    enrollment = await uow.active_enrollment(cmd.learner_id, cmd.course_id)
    if enrollment is None:
        raise NotEnrolled("the learner is not enrolled in this course")
    previous = enrollment.course_version
    if not enrollment.move_to(target):
        return enrollment
    learner = await uow.get_learner(enrollment.learner_id)
    assert learner is not None
    await uow.save_enrollment(enrollment)
    uow.publish(
        events.VersionChanged(
            enrollment,
            learner,
            previous,
            enrollment.course_version,
            enrollment.version_move,
            uow.now(),
        )
    )
    # the new version may ask for less than the learner has already done
    await _complete_if_done(enrollment, uow)
    return enrollment


async def start_version_move(cmd: commands.StartVersionMove, uow: UnitOfWork) -> uuid.UUID:
    """Plan the job; a worker (``jobs.py``) moves its learners a chunk at a time, each by
    ``move_to_version``."""
    if await uow.course(cmd.course_id, cmd.version) is None:
        raise UnknownVersion(cmd.version)
    if cmd.cohort is not None and await uow.get_cohort(cmd.course_id, cmd.cohort) is None:
        raise UnknownCohort(cmd.cohort)
    move = VersionMove(cmd.course_id, cmd.version, cmd.cohort)
    total = await uow.count_version_move(move)
    await uow.add_version_move_job(cmd.job_id, move, total, cmd.requested_by)
    return cmd.job_id


async def _complete_if_done(enrollment: Enrollment, uow: UnitOfWork) -> None:
    course = (
        await uow.course(enrollment.course_id, enrollment.course_version)
        if enrollment.may_complete
        else None  # the course's lessons cannot decide yet: no need to read them
    )
    at = uow.now()
    done: frozenset[uuid.UUID] = frozenset()
    if course is not None and course.rules.prerequisite_course_ids:
        done = await uow.completed_courses(enrollment.learner_id)
    if not enrollment.try_complete(course, at, done):
        await uow.save_enrollment(enrollment)
        return
    await uow.save_enrollment(enrollment)
    learner = await uow.get_learner(enrollment.learner_id)
    assert learner is not None
    uow.publish(events.CourseCompleted(enrollment, learner))
    certificate_id, code = uuid.uuid4(), verification_code()
    hours = course.training_hours if course is not None else None
    await uow.add_certificate(certificate_id, code, enrollment, learner, at, hours)
    uow.publish(events.CertificateIssued(certificate_id, code, enrollment, learner, at))
    await _settle_waiting(enrollment, uow)


async def _settle_waiting(completed: Enrollment, uow: UnitOfWork) -> None:
    """The learner's courses that name the one just completed as a prerequisite may now be
    complete too."""
    for waiting in await uow.in_progress_of(completed.learner_id):
        course = await uow.course(waiting.course_id, waiting.course_version)
        if course is not None and completed.course_id in course.rules.prerequisite_course_ids:
            await _complete_if_done(waiting, uow)


async def revoke_certificate(cmd: commands.RevokeCertificate, uow: UnitOfWork) -> Certificate:
    """The certificate stops holding; the enrollment stays completed."""
    certificate = await uow.get_certificate(cmd.verification_code)
    if certificate is None:
        raise UnknownCertificate("no certificate has this verification code")
    certificate.revoke(cmd.reason, uow.now())
    await uow.save_revocation(certificate, cmd.revoked_by)
    uow.publish(events.CertificateRevoked(certificate))
    return certificate


async def record_course_published(cmd: commands.RecordCoursePublished, uow: UnitOfWork) -> None:
    course = CourseVersion(
        cmd.course_id,
        cmd.version,
        cmd.title,
        frozenset(cmd.required_lesson_ids),
        cmd.lesson_ids,
        dict(cmd.lesson_titles),
        cmd.rules,
        cmd.training_hours,
    )
    await uow.add_course(course, cmd.code, cmd.published_at)
    # Progress may have arrived before the catalog did: settle what it now decides.
    for enrollment in await uow.enrollments_in_progress(cmd.course_id, cmd.version):
        await _complete_if_done(enrollment, uow)


async def record_lesson_completed(cmd: commands.RecordLessonCompleted, uow: UnitOfWork) -> None:
    await uow.add_lesson_completion(cmd.learner_id, cmd.course_id, cmd.lesson_id, cmd.completed_at)
    enrollment = await uow.active_enrollment(cmd.learner_id, cmd.course_id)
    if enrollment is None or enrollment.status == EnrollmentStatus.COMPLETED:
        return
    enrollment.record_lesson(cmd.lesson_id)
    await _complete_if_done(enrollment, uow)


async def record_lessons_completed(
    cmd: commands.RecordLessonsCompleted, uow: UnitOfWork
) -> frozenset[uuid.UUID]:
    """A batch's lessons, recorded and their enrollments started together; return the events
    left to ``record_lesson_completed``: for each enrollment that may complete now, the last
    of its lessons in the batch (its completion and certificate then follow from that event,
    with all of the batch's lessons already recorded)."""
    deciding = await uow.add_lesson_completions(cmd.lessons)
    last = {(x.learner_id, x.course_id): x.event_id for x in cmd.lessons}
    return frozenset(last[pair] for pair in deciding)


async def record_pre_test_taken(cmd: commands.RecordPreTestTaken, uow: UnitOfWork) -> None:
    await uow.add_pre_test(cmd.learner_id, cmd.course_id, cmd.taken_at)
    enrollment = await uow.active_enrollment(cmd.learner_id, cmd.course_id)
    if enrollment is None or enrollment.status == EnrollmentStatus.COMPLETED:
        return
    enrollment.record_pre_test()
    await _complete_if_done(enrollment, uow)


async def record_post_test_passed(cmd: commands.RecordPostTestPassed, uow: UnitOfWork) -> None:
    best = await uow.add_post_test_pass(cmd.learner_id, cmd.course_id, cmd.score, cmd.passed_at)
    enrollment = await uow.active_enrollment(cmd.learner_id, cmd.course_id)
    if enrollment is None or enrollment.status == EnrollmentStatus.COMPLETED:
        return
    enrollment.record_post_test_pass(best)
    await _complete_if_done(enrollment, uow)


HANDLERS: dict[type[Any], Callable[[Any, UnitOfWork], Awaitable[Any]]] = {
    commands.RegisterLearner: register_learner,
    commands.UpdateLearner: update_learner,
    commands.RecordContactReads: record_contact_reads,
    commands.StartImport: start_import,
    commands.ImportRows: import_rows,
    commands.CancelJob: cancel_job,
    commands.EnrollLearner: enroll_learner,
    commands.Withdraw: withdraw,
    commands.CreateCohort: create_cohort,
    commands.StartBulkEnrollment: start_bulk_enrollment,
    commands.MoveToVersion: move_to_version,
    commands.StartVersionMove: start_version_move,
    commands.RecordCoursePublished: record_course_published,
    commands.RecordLessonCompleted: record_lesson_completed,
    commands.RecordLessonsCompleted: record_lessons_completed,
    commands.RevokeCertificate: revoke_certificate,
    commands.RecordPreTestTaken: record_pre_test_taken,
    commands.RecordPostTestPassed: record_post_test_passed,
}
