"""Version 1 payloads. They only grow: new fields are optional and bump ``minor_version``.

Learner events carry ids, codes, positions and results; never a phone number, an e-mail
address or a national ID number, because regional systems read them. Contact details travel
only in :class:`LearnerContactChanged`, whose subject carries no region and which regional
users are not permitted to read; who was shown whose contact travels, without the contact
itself, in :class:`LearnerContactsViewed`, private in the same way.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from .envelope import EventData

VillageCode = str


class Position(StrEnum):
    """Village-government positions (Permendagri 84/2015, UU 6/2014)."""

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


class AssessmentKind(StrEnum):
    PRE_TEST = "pre_test"
    POST_TEST = "post_test"
    QUIZ = "quiz"


_code = Field(pattern=r"^\d{2}\.\d{2}\.\d{2}\.\d{4}$", description="village code PP.KK.CC.DDDD")


class LearnerRegistered(EventData):
    event_type: ClassVar[str] = "lms.enrollment.learner-registered.v1"
    producer: ClassVar[str] = "enrollment"

    learner_id: uuid.UUID
    full_name: str
    position: Position
    village_code: VillageCode = _code
    registered_at: datetime


class LearnerUpdated(EventData):
    event_type: ClassVar[str] = "lms.enrollment.learner-updated.v1"
    producer: ClassVar[str] = "enrollment"

    learner_id: uuid.UUID
    full_name: str
    position: Position
    village_code: VillageCode = _code
    previous_village_code: VillageCode | None = None
    updated_at: datetime


class LearnerContactChanged(EventData):
    """A learner's contact details: notification sends with them, reporting shows them to
    coaches (every read logged, ADR 22); never on a regional subject."""

    event_type: ClassVar[str] = "lms.enrollment.learner-contact-changed.v1"
    producer: ClassVar[str] = "enrollment"
    regional: ClassVar[bool] = False

    learner_id: uuid.UUID
    full_name: str
    village_code: VillageCode = _code
    phone: str | None = None
    email: str | None = None
    changed_at: datetime


class LearnerContactsViewed(EventData):
    """Someone other than the learners was shown their contact details (UU PDP No. 27/2022):
    who, through which route, whose, when. For the access log; never a contact value, never on
    a regional subject."""

    event_type: ClassVar[str] = "lms.enrollment.learner-contacts-viewed.v1"
    producer: ClassVar[str] = "enrollment"
    regional: ClassVar[bool] = False

    viewer: str = Field(max_length=200, description="the reader's token subject")
    viewer_role: str = Field(max_length=16, description="admin or supervisor")
    viewer_region: str | None = Field(default=None, max_length=13)
    route: str = Field(max_length=300, description='method and route template: "GET /v1/..."')
    learner_ids: list[uuid.UUID] = Field(min_length=1, description="whose contact was shown")
    viewed_at: datetime


class Enrolled(EventData):
    event_type: ClassVar[str] = "lms.enrollment.enrolled.v1"
    producer: ClassVar[str] = "enrollment"

    enrollment_id: uuid.UUID
    learner_id: uuid.UUID
    course_id: uuid.UUID
    course_version: int
    course_title: str
    village_code: VillageCode = _code
    position: Position
    cohort: str | None = None
    starts_on: datetime | None = None
    enrolled_at: datetime


class Withdrawn(EventData):
    event_type: ClassVar[str] = "lms.enrollment.withdrawn.v1"
    producer: ClassVar[str] = "enrollment"

    enrollment_id: uuid.UUID
    learner_id: uuid.UUID
    course_id: uuid.UUID
    course_title: str
    village_code: VillageCode = _code
    reason: str | None = None
    withdrawn_at: datetime


class LessonCompleted(EventData):
    event_type: ClassVar[str] = "lms.content.lesson-completed.v1"
    producer: ClassVar[str] = "content"

    learner_id: uuid.UUID
    course_id: uuid.UUID
    course_version: int
    lesson_id: uuid.UUID
    village_code: VillageCode = _code
    completed_at: datetime = Field(
        description="when the learner completed it, even if synced later"
    )
    recorded_at: datetime
    offline: bool = False


class PublishedLesson(BaseModel):
    """A lesson of a published version, as learners see it named."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    lesson_id: uuid.UUID
    title: str
    required: bool = True


class CoursePublished(EventData):
    """A version of a course and its completion rules (minor 1: lesson titles, the rules and
    the training hours; absent in minor 0, where every rule is off)."""

    event_type: ClassVar[str] = "lms.content.course-published.v1"
    producer: ClassVar[str] = "content"
    regional: ClassVar[bool] = False
    minor_version: ClassVar[int] = 1

    course_id: uuid.UUID
    course_version: int
    code: str
    title: str
    competency_area: str | None = None
    lesson_ids: list[uuid.UUID]
    required_lesson_ids: list[uuid.UUID]
    published_at: datetime
    lessons: list[PublishedLesson] = Field(default_factory=list, description="in order")
    pre_test_before_lessons: bool = Field(
        default=False, description="lessons count only after the learner took the pre-test"
    )
    min_post_test_score: float | None = Field(
        default=None, ge=0, le=100, description="completing needs at least this post-test score"
    )
    prerequisite_course_ids: list[uuid.UUID] = Field(
        default_factory=list, description="courses the learner must have completed first"
    )
    training_hours: int | None = Field(default=None, ge=1, description="jam pelajaran (JP)")


class _Graded(EventData):
    producer: ClassVar[str] = "assessment"

    attempt_id: uuid.UUID
    assessment_id: uuid.UUID
    assessment_kind: AssessmentKind
    learner_id: uuid.UUID
    course_id: uuid.UUID
    village_code: VillageCode = _code
    score: float = Field(ge=0, le=100)
    pass_score: float = Field(ge=0, le=100)
    attempt_number: int = Field(ge=1)
    graded_at: datetime


class Passed(_Graded):
    event_type: ClassVar[str] = "lms.assessment.passed.v1"


class Failed(_Graded):
    event_type: ClassVar[str] = "lms.assessment.failed.v1"


class ExtensionGranted(EventData):
    """An instructor gave a learner more attempts at an assessment, or more time on one
    attempt, with a reason."""

    event_type: ClassVar[str] = "lms.assessment.extension-granted.v1"
    producer: ClassVar[str] = "assessment"

    grant_id: uuid.UUID
    assessment_id: uuid.UUID
    learner_id: uuid.UUID
    course_id: uuid.UUID
    village_code: VillageCode = _code
    attempt_id: uuid.UUID | None = None
    extra_attempts: int = Field(ge=0)
    extra_seconds: int = Field(ge=0)
    reason: str
    granted_at: datetime


class CourseCompleted(EventData):
    event_type: ClassVar[str] = "lms.enrollment.course-completed.v1"
    producer: ClassVar[str] = "enrollment"

    enrollment_id: uuid.UUID
    learner_id: uuid.UUID
    course_id: uuid.UUID
    course_version: int
    village_code: VillageCode = _code
    score: float = Field(ge=0, le=100)
    completed_at: datetime


class CertificateIssued(EventData):
    event_type: ClassVar[str] = "lms.enrollment.certificate-issued.v1"
    producer: ClassVar[str] = "enrollment"

    certificate_id: uuid.UUID
    verification_code: str
    enrollment_id: uuid.UUID
    learner_id: uuid.UUID
    course_id: uuid.UUID
    course_title: str
    village_code: VillageCode = _code
    score: float = Field(ge=0, le=100)
    issued_at: datetime


class CertificateRevoked(EventData):
    """An admin revoked a certificate: it no longer holds, and verifying it says so."""

    event_type: ClassVar[str] = "lms.enrollment.certificate-revoked.v1"
    producer: ClassVar[str] = "enrollment"

    certificate_id: uuid.UUID
    verification_code: str
    enrollment_id: uuid.UUID
    learner_id: uuid.UUID
    course_id: uuid.UUID
    course_title: str
    village_code: VillageCode = _code
    reason: str
    revoked_at: datetime


class CourseVersionChanged(EventData):
    """An enrollment was moved to another published version of its course.

    ``move_number`` orders the moves of one enrollment (its enrollment is move 0): a consumer
    applies a move only if it is later than the last one it applied, so an older move that
    arrives late, or twice, changes nothing.
    """

    event_type: ClassVar[str] = "lms.enrollment.course-version-changed.v1"
    producer: ClassVar[str] = "enrollment"

    enrollment_id: uuid.UUID
    learner_id: uuid.UUID
    course_id: uuid.UUID
    course_title: str
    village_code: VillageCode = _code
    from_version: int = Field(ge=1)
    course_version: int = Field(ge=1)
    move_number: int = Field(ge=1)
    changed_at: datetime


EVENTS: tuple[type[EventData], ...] = (
    LearnerRegistered,
    LearnerUpdated,
    LearnerContactChanged,
    Enrolled,
    Withdrawn,
    LessonCompleted,
    CoursePublished,
    Passed,
    Failed,
    CourseCompleted,
    CertificateIssued,
    CourseVersionChanged,
    CertificateRevoked,
    ExtensionGranted,
    LearnerContactsViewed,
)
