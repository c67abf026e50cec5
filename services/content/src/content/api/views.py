"""Domain objects and rows -> the content API's response bodies."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from servicekit.i18n import text

from ..domain.model import (
    Attachment,
    Completion,
    CourseVersion,
    Lesson,
    SyncOutcome,
    SyncResult,
    VersionStatus,
)
from ..domain.packages import Media, content_bytes
from .schemas import (
    AttachmentOut,
    CompletedLesson,
    CompletionRulesIn,
    CourseOut,
    CourseSummary,
    LessonOut,
    ModuleOut,
    OutlineProgress,
    ProgressOut,
    SyncItemOut,
    SyncOut,
)


def lesson_out(lesson: Lesson, *, with_content: bool) -> LessonOut:
    out = LessonOut(
        lesson_id=lesson.lesson_id,
        title=lesson.title,
        kind=lesson.kind,
        required=lesson.required,
        duration_seconds=lesson.duration_seconds,
    )
    if with_content:
        out.body, out.url, out.attachment_id = lesson.body, lesson.url, lesson.attachment_id
    return out


def course_out(
    course: CourseVersion,
    *,
    with_content: bool = True,
    media: dict[uuid.UUID, Media] | None = None,
    budget_bytes: int | None = None,
    completions: dict[uuid.UUID, datetime] | None = None,
) -> CourseOut:
    """The outline for everybody; lesson content only for authors and enrolled learners; the
    course's size on a device when its media is given, and its budget for authors; with the
    learner's ``completions``, when each lesson was completed and what remains."""
    out = _course_out(course, with_content, media, budget_bytes)
    if completions is None:
        return out
    for module in out.modules:
        for lesson in module.lessons:
            lesson.completed_at = completions.get(lesson.lesson_id)
    out.progress = OutlineProgress(
        completed=sum(x in completions for x in course.lesson_ids),
        remaining_lesson_ids=[x for x in course.lesson_ids if x not in completions],
        remaining_required_lesson_ids=[
            x for x in course.required_lesson_ids if x not in completions
        ],
    )
    return out


def _course_out(
    course: CourseVersion,
    with_content: bool,
    media: dict[uuid.UUID, Media] | None,
    budget_bytes: int | None,
) -> CourseOut:
    return CourseOut(
        course_id=course.course_id,
        code=course.code,
        version=course.version,
        status=course.status,
        title=course.title,
        description=course.description,
        competency_area=course.competency_area,
        modules=[
            ModuleOut(
                module_id=m.module_id,
                title=m.title,
                lessons=[lesson_out(x, with_content=with_content) for x in m.lessons],
            )
            for m in course.modules
        ],
        lesson_ids=course.lesson_ids,
        required_lesson_ids=course.required_lesson_ids,
        completion_rules=CompletionRulesIn.of(course.rules),
        training_hours=course.training_hours,
        created_at=course.created_at,
        published_at=course.published_at,
        content_bytes=content_bytes(course, media) if media is not None else None,
        budget_bytes=budget_bytes,
    )


def authored_view(budget_bytes: int) -> Callable[[CourseVersion, Any], Awaitable[dict[str, Any]]]:
    """What an author sees after each edit: the course and its size against the budget."""

    async def view(course: CourseVersion, uow: Any) -> dict[str, Any]:
        media = await uow.media_of(course.course_id, course.attachment_ids)
        return course_out(course, media=media, budget_bytes=budget_bytes).model_dump(mode="json")

    return view


def course_summary(row: Any, *, drafts: bool) -> CourseSummary:
    return CourseSummary(
        course_id=row.course_id,
        code=row.code,
        title=row.title,
        competency_area=row.competency_area,
        latest_version=row.latest_version if drafts else row.published_version,
        published_version=row.published_version,
        status=VersionStatus(row.status),
    )


def attachment_out(attachment: Attachment | Any) -> AttachmentOut:
    """From the domain object or its row alike."""
    return AttachmentOut(
        attachment_id=attachment.attachment_id,
        course_id=attachment.course_id,
        filename=attachment.filename,
        media_type=attachment.media_type,
        size_bytes=attachment.size_bytes,
        sha256=attachment.sha256,
        created_at=attachment.created_at,
    )


def attachment_json(attachment: Attachment, _: Any = None) -> dict[str, Any]:
    return attachment_out(attachment).model_dump(mode="json")


def progress_out(learner_id: uuid.UUID, course_id: uuid.UUID, rows: Sequence[Any]) -> ProgressOut:
    return ProgressOut(
        learner_id=learner_id,
        course_id=course_id,
        lessons=[
            CompletedLesson(
                lesson_id=r.lesson_id,
                course_version=r.course_version,
                completed_at=r.completed_at,
                offline=r.offline,
            )
            for r in rows
        ],
    )


def completion_json(
    learner_id: uuid.UUID, course_id: uuid.UUID, lesson_id: uuid.UUID, done: Completion
) -> dict[str, Any]:
    assert done.completed_at is not None
    return {
        "learner_id": str(learner_id),
        "course_id": str(course_id),
        "lesson_id": str(lesson_id),
        "course_version": done.course_version,
        "completed_at": done.completed_at.isoformat(),
        "recorded": done.recorded,
    }


def sync_out(learner_id: uuid.UUID, results: list[SyncResult]) -> SyncOut:
    counts = dict.fromkeys(SyncOutcome, 0)
    for result in results:
        counts[result.outcome] += 1
    return SyncOut(
        learner_id=learner_id,
        recorded=counts[SyncOutcome.RECORDED],
        already_recorded=counts[SyncOutcome.ALREADY_RECORDED],
        duplicate=counts[SyncOutcome.DUPLICATE],
        rejected=counts[SyncOutcome.REJECTED],
        items=[
            SyncItemOut(
                client_id=r.client_id,
                course_id=r.course_id,
                lesson_id=r.lesson_id,
                status=r.outcome,
                completed_at=r.completed_at,
                code=r.code,
                # in the request's language, by the item's code
                detail=(text("sync", r.code) or r.detail) if r.code else r.detail,
            )
            for r in results
        ],
    )
