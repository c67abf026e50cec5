"""Request and response bodies of the content API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from servicekit.fields import LINE, TEXT

from ..domain.model import (
    CompletionRules,
    CourseContent,
    Lesson,
    LessonKind,
    Module,
    SyncOutcome,
    VersionStatus,
)

Title = Annotated[str, Field(min_length=1, max_length=300), LINE]
# the most items one sync may carry (a service may be set to take fewer: SYNC_MAX_ITEMS)
MAX_SYNC_ITEMS = 10_000


class LessonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lesson_id: uuid.UUID | None = Field(
        default=None,
        description="keep a lesson's identity (and learners' progress) across versions",
    )
    title: Title
    kind: LessonKind
    body: Annotated[str, Field(max_length=200_000), TEXT] | None = None
    url: str | None = Field(default=None, max_length=2000, pattern=r"^https?://\S+$")
    duration_seconds: int | None = Field(default=None, ge=1, le=24 * 3600)
    attachment_id: uuid.UUID | None = None
    required: bool = True

    def to_domain(self) -> Lesson:
        return Lesson(
            lesson_id=self.lesson_id or uuid.uuid4(),
            title=self.title.strip(),
            kind=self.kind,
            required=self.required,
            body=self.body,
            url=self.url,
            duration_seconds=self.duration_seconds,
            attachment_id=self.attachment_id,
        )


class ModuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    module_id: uuid.UUID | None = None
    title: Title
    lessons: list[LessonIn] = Field(max_length=200)

    def to_domain(self) -> Module:
        return Module(
            self.module_id or uuid.uuid4(),
            self.title.strip(),
            tuple(x.to_domain() for x in self.lessons),
        )


class CompletionRulesIn(BaseModel):
    """What completing the version asks besides its required lessons and a passed post-test."""

    model_config = ConfigDict(extra="forbid")

    pre_test_before_lessons: bool = Field(
        default=False, description="lessons count only after the learner took the pre-test"
    )
    min_post_test_score: float | None = Field(
        default=None, ge=0, le=100, description="completing needs at least this post-test score"
    )
    prerequisite_course_ids: list[uuid.UUID] = Field(
        default_factory=list, max_length=10, description="courses to complete first"
    )

    def to_domain(self) -> CompletionRules:
        return CompletionRules(
            self.pre_test_before_lessons,
            self.min_post_test_score,
            tuple(self.prerequisite_course_ids),
        )

    @classmethod
    def of(cls, rules: CompletionRules) -> CompletionRulesIn:
        return cls(
            pre_test_before_lessons=rules.pre_test_before_lessons,
            min_post_test_score=rules.min_post_test_score,
            prerequisite_course_ids=list(rules.prerequisite_course_ids),
        )


class CourseContentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    description: Annotated[str, Field(max_length=5000), TEXT] | None = None
    competency_area: Annotated[str, Field(max_length=200), LINE] | None = None
    modules: list[ModuleIn] = Field(max_length=100)
    completion_rules: CompletionRulesIn = Field(default_factory=CompletionRulesIn)
    training_hours: int | None = Field(
        default=None, ge=1, le=1000, description="jam pelajaran (JP) printed on certificates"
    )

    def to_domain(self) -> CourseContent:
        return CourseContent(
            title=self.title.strip(),
            modules=tuple(m.to_domain() for m in self.modules),
            description=self.description,
            competency_area=self.competency_area,
            rules=self.completion_rules.to_domain(),
            training_hours=self.training_hours,
        )

    def kept_lesson_ids(self) -> set[uuid.UUID]:
        return {x.lesson_id for m in self.modules for x in m.lessons if x.lesson_id}


class CourseIn(CourseContentIn):
    code: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class LessonOut(BaseModel):
    lesson_id: uuid.UUID
    title: str
    kind: LessonKind
    required: bool
    duration_seconds: int | None = None
    body: str | None = None
    url: str | None = None
    attachment_id: uuid.UUID | None = None
    completed_at: datetime | None = Field(
        default=None, description="enrolled learners: when they completed it"
    )


class OutlineProgress(BaseModel):
    """Where an enrolled learner stands in their version of the course."""

    completed: int
    remaining_lesson_ids: list[uuid.UUID]
    remaining_required_lesson_ids: list[uuid.UUID]


class ModuleOut(BaseModel):
    module_id: uuid.UUID
    title: str
    lessons: list[LessonOut]


class CourseOut(BaseModel):
    course_id: uuid.UUID
    code: str
    version: int
    status: VersionStatus
    title: str
    description: str | None
    competency_area: str | None
    modules: list[ModuleOut]
    lesson_ids: list[uuid.UUID]
    required_lesson_ids: list[uuid.UUID]
    completion_rules: CompletionRulesIn
    training_hours: int | None
    created_at: datetime | None
    published_at: datetime | None
    content_bytes: int | None = Field(
        default=None,
        description="what a device carries to take the whole course offline (its package's files)",
    )
    budget_bytes: int | None = Field(
        default=None, description="authors: the most a course may ask a device to carry"
    )
    progress: OutlineProgress | None = Field(
        default=None, description="enrolled learners: what they completed and what remains"
    )


class CourseSummary(BaseModel):
    course_id: uuid.UUID
    code: str
    title: str
    competency_area: str | None
    latest_version: int
    published_version: int | None
    status: VersionStatus


class LessonRead(LessonOut):
    course_id: uuid.UUID
    version: int
    module_id: uuid.UUID


class AttachmentOut(BaseModel):
    attachment_id: uuid.UUID
    course_id: uuid.UUID
    filename: str
    media_type: str
    size_bytes: int
    sha256: str
    created_at: datetime


class ProgressIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    course_id: uuid.UUID
    lesson_id: uuid.UUID


class CompletedLesson(BaseModel):
    lesson_id: uuid.UUID
    course_version: int
    completed_at: datetime
    offline: bool


class ProgressOut(BaseModel):
    learner_id: uuid.UUID
    course_id: uuid.UUID
    lessons: list[CompletedLesson]


class SyncItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_id: Annotated[str, Field(min_length=1, max_length=100), LINE]
    course_id: uuid.UUID
    lesson_id: uuid.UUID
    completed_at: AwareDatetime = Field(description="device time, with its offset")


class SyncIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # checked before any item is: a longer list is refused at once, with one error
    items: list[SyncItemIn] = Field(max_length=MAX_SYNC_ITEMS)


class SyncItemOut(BaseModel):
    client_id: str
    course_id: uuid.UUID
    lesson_id: uuid.UUID
    status: SyncOutcome
    completed_at: datetime | None = None
    code: str | None = None
    detail: str | None = None


class SyncOut(BaseModel):
    learner_id: uuid.UUID
    recorded: int
    already_recorded: int
    duplicate: int
    rejected: int
    items: list[SyncItemOut]
