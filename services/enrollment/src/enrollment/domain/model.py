"""Learners and their enrollments: the rules of where a learner stands in a course."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from .completion import CourseVersion, Progress, missing_for
from .errors import AlreadyCompleted, AlreadyRevoked, EnrollmentClosed, NotEnrolled

__all__ = ["CourseVersion"]


class Position(StrEnum):
    KEPALA_DESA = "kepala_desa"
    SEKRETARIS_DESA = "sekretaris_desa"
    KAUR_TATA_USAHA_UMUM = "kaur_tata_usaha_umum"
    KAUR_KEUANGAN = "kaur_keuangan"
    KAUR_PERENCANAAN = "kaur_perencanaan"
    KASI_PEMERINTAHAN = "kasi_pemerintahan"
    KASI_KESEJAHTERAAN = "kasi_kesejahteraan"
    KASI_PELAYANAN = "kasi_pelayanan"
    KEPALA_DUSUN = "kepala_dusun"
    ANGGOTA_BPD = "anggota_bpd"


class EnrollmentStatus(StrEnum):
    ENROLLED = "enrolled"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"


ACTIVE = (EnrollmentStatus.ENROLLED, EnrollmentStatus.IN_PROGRESS, EnrollmentStatus.COMPLETED)


@dataclass
class Learner:
    learner_id: uuid.UUID
    full_name: str
    position: Position
    village_code: str
    phone: str | None = None
    email: str | None = None
    nik_hash: str | None = None
    registered_at: datetime | None = None


@dataclass(frozen=True)
class Viewer:
    """Someone shown contact details, as the access log names them (UU PDP No. 27/2022): the
    token's subject, role and region, the route (method and template), and their own learner
    id if they are a learner (their own contact is theirs to read, unlogged)."""

    subject: str
    role: str
    region_code: str | None
    route: str
    learner_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Cohort:
    """An intake (angkatan) of a course, open for enrollment within its window."""

    course_id: uuid.UUID
    name: str
    enrollment_opens_at: datetime | None = None
    enrollment_closes_at: datetime | None = None
    # a regional intake (a supervisor's) admits only that region's learners
    region_code: str | None = None

    def is_open(self, now: datetime) -> bool:
        if self.enrollment_opens_at is not None and now < self.enrollment_opens_at:
            return False
        return self.enrollment_closes_at is None or now <= self.enrollment_closes_at

    def admits(self, code: str) -> bool:
        """Whether a village (or a whole region) ``code`` lies within the cohort's region,
        compared level by level as codes, never as patterns."""
        return within(code, self.region_code or "")


def within(code: str, region_code: str) -> bool:
    """``code`` is ``region_code`` or lies under it (``""``: the whole country)."""
    return region_code == "" or code == region_code or code.startswith(region_code + ".")


@dataclass(frozen=True)
class BulkEnrollment:
    """What a bulk job enrolls: every learner of a region (and, if any are given, of these
    positions) into one course version, optionally into a cohort."""

    course_id: uuid.UUID
    course_version: int
    course_title: str
    region_code: str
    positions: tuple[Position, ...]
    cohort: str | None


@dataclass(frozen=True)
class VersionMove:
    """What a version-move job does: every unfinished learner of a course (of one cohort, if
    given) to one published version."""

    course_id: uuid.UUID
    course_version: int
    cohort: str | None


class JobState(StrEnum):
    """Where a job stands (``jobs.state``); a running job whose lease lapsed is taken over by
    another worker, which resumes it after its last committed chunk."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


OPEN_JOB_STATES = (JobState.PENDING, JobState.RUNNING)


class JobKind(StrEnum):
    """What a job does (``jobs.kind``)."""

    BULK_ENROLLMENT = "bulk_enrollment"
    LEARNER_IMPORT = "learner_import"
    VERSION_MOVE = "version_move"


class Outcome(StrEnum):
    """What a job did with one row (or, for an import with a course, with its enrollment)."""

    REGISTERED = "registered"
    ALREADY_REGISTERED = "already_registered"
    ENROLLED = "enrolled"
    ALREADY_ENROLLED = "already_enrolled"
    NOT_ENROLLED = "not_enrolled"
    SKIPPED = "skipped"


@dataclass
class Enrollment:
    """One learner in one course version; progress facts arrive in any order, more than once."""

    enrollment_id: uuid.UUID
    learner_id: uuid.UUID
    course_id: uuid.UUID
    course_version: int
    course_title: str
    status: EnrollmentStatus
    enrolled_at: datetime
    cohort: str | None = None
    completed_lesson_ids: set[uuid.UUID] = field(default_factory=set)
    post_test_score: float | None = None
    completed_at: datetime | None = None
    withdrawn_at: datetime | None = None
    # how many times the learner was moved to another version (the enrollment is move 0)
    version_move: int = 0
    pre_test_taken: bool = False

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE

    def record_lesson(self, lesson_id: uuid.UUID) -> None:
        if self.status == EnrollmentStatus.WITHDRAWN:
            raise NotEnrolled("the enrollment was withdrawn")
        self.completed_lesson_ids.add(lesson_id)
        if self.status == EnrollmentStatus.ENROLLED:
            self.status = EnrollmentStatus.IN_PROGRESS

    def record_post_test_pass(self, score: float) -> None:
        if self.status == EnrollmentStatus.WITHDRAWN:
            raise NotEnrolled("the enrollment was withdrawn")
        self.post_test_score = max(score, self.post_test_score or 0.0)
        if self.status == EnrollmentStatus.ENROLLED:
            self.status = EnrollmentStatus.IN_PROGRESS

    @property
    def may_complete(self) -> bool:
        """In progress with the post-test passed, which every version asks: the version's
        lessons and rules decide the rest."""
        return self.status == EnrollmentStatus.IN_PROGRESS and self.post_test_score is not None

    def record_pre_test(self) -> None:
        """Taken before the course starts, the pre-test leaves the enrollment as it is."""
        if self.status == EnrollmentStatus.WITHDRAWN:
            raise NotEnrolled("the enrollment was withdrawn")
        self.pre_test_taken = True

    def progress(self, completed_courses: frozenset[uuid.UUID] = frozenset()) -> Progress:
        return Progress(
            frozenset(self.completed_lesson_ids),
            self.pre_test_taken,
            self.post_test_score,
            completed_courses,
        )

    def try_complete(
        self,
        course: CourseVersion | None,
        now: datetime,
        completed_courses: frozenset[uuid.UUID] = frozenset(),
    ) -> bool:
        """Complete when the version the learner follows asks nothing more of them: every
        required lesson, a passed post-test, and what its rules add (``completion.py``)."""
        if not self.may_complete or course is None:
            return False
        if missing_for(course, self.progress(completed_courses)):
            return False
        self.status = EnrollmentStatus.COMPLETED
        self.completed_at = now
        return True

    def move_to(self, course: CourseVersion) -> bool:
        """Follow ``course`` from now on; False if already there. A learner who finished
        keeps the version they finished."""
        if self.status == EnrollmentStatus.WITHDRAWN:
            raise NotEnrolled("the enrollment was withdrawn")
        if self.status == EnrollmentStatus.COMPLETED:
            raise AlreadyCompleted(
                f"the learner completed version {self.course_version} and keeps it"
            )
        if course.version == self.course_version:
            return False
        self.course_version, self.course_title = course.version, course.title
        self.version_move += 1
        return True

    def withdraw(self, now: datetime) -> None:
        if self.status == EnrollmentStatus.COMPLETED:
            raise EnrollmentClosed("a completed enrollment cannot be withdrawn")
        if self.status == EnrollmentStatus.WITHDRAWN:
            raise EnrollmentClosed("the enrollment is already withdrawn")
        self.status = EnrollmentStatus.WITHDRAWN
        self.withdrawn_at = now


@dataclass
class Certificate:
    """What a learner was certified for; it holds until an admin revokes it."""

    certificate_id: uuid.UUID
    verification_code: str
    enrollment_id: uuid.UUID
    learner_id: uuid.UUID
    course_id: uuid.UUID
    course_title: str
    village_code: str
    revoked_at: datetime | None = None
    revoke_reason: str | None = None

    def revoke(self, reason: str, at: datetime) -> None:
        if self.revoked_at is not None:
            raise AlreadyRevoked(f"the certificate was revoked on {self.revoked_at:%Y-%m-%d}")
        self.revoked_at, self.revoke_reason = at, reason.strip()
