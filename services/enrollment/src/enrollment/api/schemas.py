"""Request and response bodies of the enrollment API."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from servicekit import regions
from servicekit.fields import LINE, TEXT, VILLAGE_PATTERN, RegionCode

from ..domain.completion import Requirement
from ..domain.model import EnrollmentStatus, JobKind, JobState, Outcome, Position

NIK_PATTERN = r"^[0-9]{16}$"


def _village_code(value: str) -> str:
    """A village code, typed dotted or not, kept in the canonical dotted form; refused with
    the codes the message catalogs translate (``village_code_format``, ``unknown_village``)."""
    try:
        code = regions.canonical(value)
    except ValueError:
        code = ""
    if not code or regions.level_of(code) is not regions.Level.VILLAGE:
        raise PydanticCustomError(
            "village_code_format", "must be a 10-digit village code, e.g. 74.01.01.2006"
        )
    if regions.find(code) is None:
        raise PydanticCustomError("unknown_village", "no village has code {code}", {"code": code})
    return code


def _nik(value: str) -> str:
    if not re.fullmatch(NIK_PATTERN, value):
        raise PydanticCustomError("nik_format", "NIK must be 16 digits")
    return value


def _phone(value: str) -> str:
    try:
        number = phonenumbers.parse(value, "ID")
    except phonenumbers.NumberParseException as exc:
        raise PydanticCustomError("phone_invalid", "not a phone number") from exc
    if not phonenumbers.is_valid_number(number):
        raise PydanticCustomError("phone_invalid", "not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _email(value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise PydanticCustomError("email_invalid", "{reason}", {"reason": str(exc)}) from exc


Phone = Annotated[str, Field(max_length=32, pattern=r"^[0-9+() .-]+$"), AfterValidator(_phone)]
Email = Annotated[str, Field(max_length=254), LINE, AfterValidator(_email)]
Name = Annotated[str, Field(min_length=2, max_length=120), LINE]
CohortName = Annotated[str, Field(min_length=1, max_length=64), LINE]
# The shape is documented as a pattern (for clients and fuzzers) but checked by the validator,
# so that a refusal carries a code the catalogs translate rather than a bare pattern mismatch
VillageCode = Annotated[
    str,
    Field(
        max_length=13,
        json_schema_extra={"pattern": VILLAGE_PATTERN, "examples": ["74.01.01.2006"]},
    ),
    AfterValidator(_village_code),
]
Nik = Annotated[
    str, Field(max_length=16, json_schema_extra={"pattern": NIK_PATTERN}), AfterValidator(_nik)
]


class LearnerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    full_name: Name
    position: Position
    village_code: VillageCode
    phone: Phone | None = None
    email: Email | None = None
    nik: Nik | None = Field(default=None, description="national ID; stored only as a keyed hash")


class LearnerPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    full_name: Name | None = None
    position: Position | None = None
    village_code: VillageCode | None = None
    phone: Phone | None = None
    email: Email | None = None


class LearnerOut(BaseModel):
    learner_id: uuid.UUID
    full_name: str
    position: Position
    position_name: str = Field(description="the position's official Indonesian title")
    village_code: str
    phone: str | None = None
    email: str | None = None
    registered_at: datetime | None = None


class EnrollmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    learner_id: uuid.UUID
    course_id: uuid.UUID
    cohort: CohortName | None = None


class MissingOut(BaseModel):
    requirement: Requirement
    lesson_id: uuid.UUID | None = None
    course_id: uuid.UUID | None = None
    title: str | None = None
    min_score: float | None = None
    best_score: float | None = None


class CompletionOut(BaseModel):
    """What the version the learner follows still asks of them, and the same in words."""

    complete: bool
    missing_lessons: int = Field(description="required lessons of the version not done yet")
    missing: list[MissingOut]
    explanation: str = Field(
        description="for the learner, in the request's language (Bahasa Indonesia by default)"
    )


class CertificateLinkOut(BaseModel):
    """The enrollment's certificate: its code, and where to verify and print it."""

    verification_code: str
    verify_url: str = Field(description="public verification page (HTML or JSON)")
    pdf_url: str = Field(description="the printable certificate, for its owner and admins")
    issued_at: datetime
    valid: bool = Field(description="false once revoked")


class EnrollmentOut(BaseModel):
    enrollment_id: uuid.UUID
    learner_id: uuid.UUID
    course_id: uuid.UUID
    course_version: int
    course_title: str
    cohort: str | None
    status: EnrollmentStatus
    post_test_score: float | None
    lessons_completed: int = Field(
        description="lessons done that the enrollment's course version has, however long ago"
    )
    enrolled_at: datetime
    completed_at: datetime | None
    withdrawn_at: datetime | None
    certificate: CertificateLinkOut | None = None
    completion: CompletionOut | None = Field(
        default=None, description="on GET of one enrollment: what is left to complete it"
    )


class CertificateOut(BaseModel):
    """Public verification: who was certified for what, by whom, and whether it holds."""

    verification_code: str
    certificate_number: str
    full_name: str
    position: str | None = Field(description="jabatan, in words")
    place: str | None = Field(description="desa or kelurahan, kecamatan, kabupaten, provinsi")
    course_title: str
    training_hours: int | None = Field(description="jam pelajaran (JP)")
    issued_at: datetime
    issued_on: str = Field(description="the issue date in the official's time zone, in words")
    score: float
    valid: bool
    status: Literal["sah", "dicabut"]
    revoked_at: datetime | None = None
    issuer: str
    verify_url: str


class CertificateItem(BaseModel):
    """A certificate in a learner's or a region's list."""

    verification_code: str
    certificate_number: str
    learner_id: uuid.UUID
    full_name: str
    course_id: uuid.UUID
    course_title: str
    village_code: str | None
    issued_at: datetime
    valid: bool
    revoked_at: datetime | None
    verify_url: str
    pdf_url: str


class RevokeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(min_length=5, max_length=500), TEXT]


class CohortIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    course_id: uuid.UUID
    name: CohortName
    enrollment_opens_at: AwareDatetime | None = None
    enrollment_closes_at: AwareDatetime | None = None
    region_code: RegionCode | None = Field(
        default=None,
        description="a regional intake admits only this region's learners (a supervisor's "
        "cohorts are always regional: their region unless a region within it is named)",
    )

    @field_validator("enrollment_closes_at")
    @classmethod
    def _after_opening(cls, closes: datetime | None, info: ValidationInfo) -> datetime | None:
        opens = info.data.get("enrollment_opens_at")
        if closes is not None and opens is not None and closes <= opens:
            raise PydanticCustomError("window_order", "must be after enrollment_opens_at")
        return closes


class CohortOut(BaseModel):
    course_id: uuid.UUID
    name: str
    enrollment_opens_at: datetime | None
    enrollment_closes_at: datetime | None
    region_code: str | None


class CourseOut(BaseModel):
    course_id: uuid.UUID
    version: int
    code: str
    title: str
    required_lessons: int
    published_at: datetime


class MoveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Annotated[
        int, Field(ge=1, le=1_000_000, description="a published version of the course")
    ]


class VersionMoveIn(MoveIn):
    cohort: CohortName | None = Field(default=None, description="only this cohort's learners")


class BulkEnrollmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    course_id: uuid.UUID
    region_code: RegionCode
    positions: list[Position] = Field(default_factory=list, max_length=10)
    cohort: CohortName | None = None


class JobOut(BaseModel):
    job_id: uuid.UUID
    kind: JobKind
    state: JobState
    region_code: str = Field(description='the region it acts on ("" the whole country)')
    total: int = Field(description="rows (an import) or learners (a bulk job) it acts on")
    done: int
    skipped: int
    failed: int
    processed: int = Field(description="done + skipped + failed")
    progress: float = Field(description="processed / total, 1 when there was nothing to do")
    counts: dict[Outcome, int] = Field(description="rows by outcome so far")
    params: dict[str, Any]
    error: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
