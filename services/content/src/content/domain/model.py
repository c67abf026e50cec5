"""Courses, their versions and lessons; who may learn which version; what counts as done."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from .errors import CourseNotPublishable, InvalidLesson, InvalidRule, VersionImmutable


class LessonKind(StrEnum):
    TEXT = "text"
    VIDEO = "video"
    AUDIO = "audio"
    DOCUMENT = "document"
    LINK = "link"


MEDIA_KINDS = (LessonKind.VIDEO, LessonKind.AUDIO, LessonKind.DOCUMENT)


class VersionStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


@dataclass(frozen=True)
class Lesson:
    lesson_id: uuid.UUID
    title: str
    kind: LessonKind
    required: bool = True
    body: str | None = None
    url: str | None = None
    duration_seconds: int | None = None
    attachment_id: uuid.UUID | None = None

    def check(self, where: str) -> None:
        """Each kind carries what a learner needs to take it."""
        if self.kind == LessonKind.TEXT and not self.body:
            raise InvalidLesson(f"{where}.body", "a text lesson needs a body")
        if self.kind == LessonKind.LINK and not self.url:
            raise InvalidLesson(f"{where}.url", "a link lesson needs a url")
        if self.kind in MEDIA_KINDS and self.attachment_id is None and not self.url:
            # an attachment travels inside the offline package; a url needs a connection
            raise InvalidLesson(
                f"{where}.attachment_id", "a media lesson needs an attachment_id or a url"
            )


@dataclass(frozen=True)
class Module:
    module_id: uuid.UUID
    title: str
    lessons: tuple[Lesson, ...]


@dataclass(frozen=True)
class CompletionRules:
    """What completing a version asks besides its required lessons and a passed post-test."""

    pre_test_before_lessons: bool = False
    min_post_test_score: float | None = None
    prerequisite_course_ids: tuple[uuid.UUID, ...] = ()

    def check(self, course_id: uuid.UUID) -> None:
        field = "completion_rules.prerequisite_course_ids"
        for n, prerequisite in enumerate(self.prerequisite_course_ids):
            if prerequisite == course_id:
                raise InvalidRule(f"{field}.{n}", "a course cannot be its own prerequisite")
            if prerequisite in self.prerequisite_course_ids[:n]:
                raise InvalidRule(f"{field}.{n}", "the same course is given twice")


@dataclass
class CourseVersion:
    """One version of a course. A published version never changes again."""

    course_id: uuid.UUID
    version: int
    code: str
    title: str
    status: VersionStatus
    modules: tuple[Module, ...]
    description: str | None = None
    competency_area: str | None = None
    created_at: datetime | None = None
    published_at: datetime | None = None
    rules: CompletionRules = CompletionRules()
    training_hours: int | None = None

    @property
    def lessons(self) -> list[Lesson]:
        return [lesson for module in self.modules for lesson in module.lessons]

    @property
    def lesson_ids(self) -> list[uuid.UUID]:
        return [lesson.lesson_id for lesson in self.lessons]

    @property
    def required_lesson_ids(self) -> list[uuid.UUID]:
        return [lesson.lesson_id for lesson in self.lessons if lesson.required]

    @property
    def attachment_ids(self) -> list[uuid.UUID]:
        return [x.attachment_id for x in self.lessons if x.attachment_id is not None]

    def lesson(self, lesson_id: uuid.UUID) -> Lesson | None:
        return next((x for x in self.lessons if x.lesson_id == lesson_id), None)

    def check(self) -> None:
        seen: set[uuid.UUID] = set()
        for m, module in enumerate(self.modules):
            for n, lesson in enumerate(module.lessons):
                where = f"modules.{m}.lessons.{n}"
                if lesson.lesson_id in seen:
                    raise InvalidLesson(f"{where}.lesson_id", "appears twice in the course")
                seen.add(lesson.lesson_id)
                lesson.check(where)
        self.rules.check(self.course_id)

    def publish(self, at: datetime) -> None:
        if self.status == VersionStatus.PUBLISHED:
            raise VersionImmutable(f"version {self.version} is already published")
        if not self.lessons:
            raise CourseNotPublishable("a course needs at least one lesson to be published")
        self.check()
        self.status = VersionStatus.PUBLISHED
        self.published_at = at

    def revised(self, changes: CourseContent, at: datetime) -> CourseVersion:
        """A draft is edited in place; a published version is followed by a new draft."""
        version = self.version if self.status == VersionStatus.DRAFT else self.version + 1
        revision = CourseVersion(
            course_id=self.course_id,
            version=version,
            code=self.code,
            title=changes.title,
            status=VersionStatus.DRAFT,
            modules=changes.modules,
            description=changes.description,
            competency_area=changes.competency_area,
            created_at=at if version != self.version else self.created_at,
            rules=changes.rules,
            training_hours=changes.training_hours,
        )
        revision.check()
        return revision


@dataclass(frozen=True)
class CourseContent:
    """What an author writes: everything of a version except its identity and status."""

    title: str
    modules: tuple[Module, ...]
    description: str | None = None
    competency_area: str | None = None
    rules: CompletionRules = CompletionRules()
    training_hours: int | None = None


@dataclass(frozen=True)
class Attachment:
    """A document an author uploaded for a course's lessons to point at."""

    attachment_id: uuid.UUID
    course_id: uuid.UUID
    filename: str
    media_type: str
    size_bytes: int
    sha256: str
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class Enrollment:
    """Who may learn which version of a course, as told by enrolled/withdrawn events."""

    enrollment_id: uuid.UUID
    learner_id: uuid.UUID
    course_id: uuid.UUID
    course_version: int
    village_code: str
    enrolled_at: datetime
    withdrawn_at: datetime | None = None

    def covers(self, completed_at: datetime) -> bool:
        """Active now, or was active when the lesson was completed (a late offline sync)."""
        return self.withdrawn_at is None or completed_at <= self.withdrawn_at


class SyncOutcome(StrEnum):
    RECORDED = "recorded"
    ALREADY_RECORDED = "already_recorded"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@dataclass(frozen=True)
class OfflineCompletion:
    client_id: str
    course_id: uuid.UUID
    lesson_id: uuid.UUID
    completed_at: datetime


@dataclass
class SyncResult:
    client_id: str
    outcome: SyncOutcome
    lesson_id: uuid.UUID
    course_id: uuid.UUID
    completed_at: datetime | None = None
    code: str | None = None
    detail: str | None = None


@dataclass
class SyncPlan:
    """Per-item decisions for one batch, in the order the device sent it."""

    results: list[SyncResult] = field(default_factory=list)
    accepted: list[tuple[OfflineCompletion, Enrollment]] = field(default_factory=list)


def plan_sync(
    items: list[OfflineCompletion],
    *,
    seen_client_ids: set[str],
    enrollments: dict[uuid.UUID, list[Enrollment]],
    versions: dict[tuple[uuid.UUID, int], set[uuid.UUID]],
    known_courses: set[uuid.UUID],
    now: datetime,
    clock_skew: timedelta,
    pre_test_due: frozenset[uuid.UUID] = frozenset(),
) -> SyncPlan:
    """Decide each offline completion; a client id already seen is applied only once.
    ``pre_test_due``: courses whose lessons count only after a pre-test the learner has not
    taken."""
    plan = SyncPlan()
    seen = set(seen_client_ids)
    for item in items:
        result = SyncResult(item.client_id, SyncOutcome.REJECTED, item.lesson_id, item.course_id)
        plan.results.append(result)
        if item.client_id in seen:
            result.outcome = SyncOutcome.DUPLICATE
            continue
        reason = _rejection(item, enrollments, versions, known_courses, now, clock_skew)
        if not isinstance(reason, tuple) and item.course_id in pre_test_due:
            reason = ("pre_test_required", "lessons of this course count after its pre-test")
        if isinstance(reason, tuple):
            result.code, result.detail = reason
            continue
        seen.add(item.client_id)
        result.outcome = SyncOutcome.RECORDED
        result.completed_at = item.completed_at
        plan.accepted.append((item, reason))
    return plan


def _rejection(
    item: OfflineCompletion,
    enrollments: dict[uuid.UUID, list[Enrollment]],
    versions: dict[tuple[uuid.UUID, int], set[uuid.UUID]],
    known_courses: set[uuid.UUID],
    now: datetime,
    clock_skew: timedelta,
) -> tuple[str, str] | Enrollment:
    if item.completed_at > now + clock_skew:
        return "completed_at_in_future", "completed_at is later than the server's clock"
    if item.course_id not in known_courses:
        return "unknown_course", "no course has this id"
    enrollment = next(
        (e for e in enrollments.get(item.course_id, []) if e.covers(item.completed_at)), None
    )
    if enrollment is None:
        return "not_enrolled", "the learner is not enrolled in this course"
    if item.lesson_id not in versions.get((item.course_id, enrollment.course_version), set()):
        return "lesson_not_in_version", "the lesson is not part of the learner's course version"
    return enrollment


@dataclass(frozen=True)
class Completion:
    """What recording one lesson found: the learner's enrollment, and whether it was new."""

    course_version: int | None
    village_code: str | None
    lesson_in_version: bool
    recorded: bool
    completed_at: datetime | None
    # the version asks for the pre-test before lessons, and the learner has not taken it
    pre_test_due: bool = False
