"""Use cases of the content service. Each takes a command and a unit of work.

What handles what (``HANDLERS``):

| command          | use case          | emits                                   |
|------------------|-------------------|-----------------------------------------|
| CreateCourse     | create_course     | (none: a draft)                         |
| ReviseCourse     | revise_course     | (none: edits a draft or starts one)     |
| PublishCourse    | publish_course    | CoursePublished (within its size budget)|
| AttachDocument   | attach_document   | (none)                                  |
| RecordEnrollment | record_enrollment | (none)                                  |
| RecordWithdrawal | record_withdrawal | (none)                                  |
| RecordVersionChange | record_version_change | (none)                              |
| RecordPreTest    | record_pre_test   | (none)                                  |
| CompleteLesson   | complete_lesson   | LessonCompleted (first time only)       |
| SyncProgress     | sync_progress     | LessonCompleted (offline, once per item)|
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from servicekit.clock import Clock
from servicekit.runner import UseCase

from .domain import commands, events
from .domain.errors import (
    InvalidLesson,
    InvalidRule,
    LessonNotInVersion,
    NotEnrolled,
    PreTestRequired,
    UnknownCourse,
    UnknownLesson,
    VersionImmutable,
)
from .domain.model import (
    Attachment,
    Completion,
    CourseVersion,
    Enrollment,
    OfflineCompletion,
    SyncOutcome,
    SyncResult,
    VersionStatus,
    plan_sync,
)
from .domain.packages import Media, check_budget


class UnitOfWork(Protocol):
    clock: Clock

    def publish(self, event: events.DomainEvent) -> None: ...
    async def latest_version(
        self, course_id: uuid.UUID, *, lock: bool = False
    ) -> CourseVersion | None: ...
    async def version(self, course_id: uuid.UUID, version: int) -> CourseVersion | None: ...
    async def add_course(self, course: CourseVersion, author: str) -> None: ...
    async def save_version(self, course: CourseVersion) -> None: ...
    async def lesson_ids_of_course(self, course_id: uuid.UUID) -> set[uuid.UUID]: ...
    async def missing_attachments(
        self, course_id: uuid.UUID, attachment_ids: list[uuid.UUID]
    ) -> set[uuid.UUID]: ...
    async def course_exists(self, course_id: uuid.UUID) -> bool: ...
    async def media_of(
        self, course_id: uuid.UUID, attachment_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, Media]: ...
    async def add_attachment(self, attachment: Attachment) -> None: ...
    async def record_enrollment(self, enrollment: Enrollment) -> None: ...
    async def record_withdrawal(self, cmd: commands.RecordWithdrawal) -> None: ...
    async def record_version_change(self, cmd: commands.RecordVersionChange) -> None: ...
    async def record_pre_test(self, cmd: commands.RecordPreTest) -> None: ...
    async def pre_test_due(
        self, learner_id: uuid.UUID, keys: Iterable[tuple[uuid.UUID, int]]
    ) -> set[uuid.UUID]: ...
    async def find_completion(
        self, learner_id: uuid.UUID, course_id: uuid.UUID, lesson_id: uuid.UUID
    ) -> Completion: ...
    async def add_completion(self, event: events.LessonCompleted) -> bool:
        """Store the completion with its event, atomically; False if it lost a race."""
        ...

    async def lock_learner(self, learner_id: uuid.UUID) -> None: ...
    async def seen_client_ids(self, learner_id: uuid.UUID, client_ids: list[str]) -> set[str]: ...
    async def enrollments_of(
        self, learner_id: uuid.UUID, course_ids: Iterable[uuid.UUID]
    ) -> dict[uuid.UUID, list[Enrollment]]: ...
    async def existing_courses(self, course_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]: ...
    async def lessons_of_versions(
        self, keys: Iterable[tuple[uuid.UUID, int]]
    ) -> dict[tuple[uuid.UUID, int], set[uuid.UUID]]: ...
    async def add_offline_progress(
        self,
        learner_id: uuid.UUID,
        accepted: list[tuple[OfflineCompletion, Enrollment]],
        recorded_at: datetime,
    ) -> set[str]: ...
    async def add_sync_receipts(
        self, learner_id: uuid.UUID, results: list[SyncResult], at: datetime
    ) -> None: ...


CLOCK_SKEW = timedelta(minutes=5)


async def create_course(cmd: commands.CreateCourse, uow: UnitOfWork) -> CourseVersion:
    course = CourseVersion(
        course_id=uuid.uuid4(),
        version=1,
        code=cmd.code,
        title=cmd.content.title,
        status=VersionStatus.DRAFT,
        modules=cmd.content.modules,
        description=cmd.content.description,
        competency_area=cmd.content.competency_area,
        created_at=uow.clock(),
        rules=cmd.content.rules,
        training_hours=cmd.content.training_hours,
    )
    course.check()
    await _check_attachments(course, uow)
    await _check_prerequisites(course, uow)
    await uow.add_course(course, cmd.author)
    return course


async def revise_course(cmd: commands.ReviseCourse, uow: UnitOfWork) -> CourseVersion:
    """The lesson ids the author reused must belong to this course."""
    latest = await uow.latest_version(cmd.course_id, lock=True)
    if latest is None:
        raise UnknownCourse(str(cmd.course_id))
    foreign = cmd.kept_lesson_ids - await uow.lesson_ids_of_course(cmd.course_id)
    if foreign:
        raise InvalidLesson("lesson_id", "not a lesson of this course")
    revision = latest.revised(cmd.content, uow.clock())
    await _check_attachments(revision, uow)
    await _check_prerequisites(revision, uow)
    await uow.save_version(revision)
    return revision


async def _check_attachments(course: CourseVersion, uow: UnitOfWork) -> None:
    if not course.attachment_ids:
        return
    missing = await uow.missing_attachments(course.course_id, course.attachment_ids)
    if missing:
        raise InvalidLesson("attachment_id", "no such attachment in this course")


async def _check_prerequisites(course: CourseVersion, uow: UnitOfWork) -> None:
    wanted = course.rules.prerequisite_course_ids
    known = await uow.existing_courses(wanted)
    for n, course_id in enumerate(wanted):
        if course_id not in known:
            raise InvalidRule(
                f"completion_rules.prerequisite_course_ids.{n}", "no course has this id"
            )


async def publish_course(cmd: commands.PublishCourse, uow: UnitOfWork) -> CourseVersion:
    latest = await uow.latest_version(cmd.course_id, lock=True)
    if latest is None:
        raise UnknownCourse(str(cmd.course_id))
    if latest.status == VersionStatus.PUBLISHED:
        raise VersionImmutable(f"version {latest.version} is already published; edit it first")
    check_budget(
        latest, await uow.media_of(latest.course_id, latest.attachment_ids), cmd.budget_bytes
    )
    latest.publish(uow.clock())
    await uow.save_version(latest)
    uow.publish(events.CoursePublished(latest))
    return latest


async def attach_document(cmd: commands.AttachDocument, uow: UnitOfWork) -> Attachment:
    attachment = Attachment(
        attachment_id=uuid.uuid4(),
        course_id=cmd.course_id,
        filename=cmd.filename,
        media_type=cmd.media_type,
        size_bytes=cmd.size_bytes,
        sha256=cmd.sha256,
        created_by=cmd.author,
        created_at=uow.clock(),
    )
    await uow.add_attachment(attachment)
    return attachment


async def record_enrollment(cmd: commands.RecordEnrollment, uow: UnitOfWork) -> None:
    await uow.record_enrollment(
        Enrollment(
            enrollment_id=cmd.enrollment_id,
            learner_id=cmd.learner_id,
            course_id=cmd.course_id,
            course_version=cmd.course_version,
            village_code=cmd.village_code,
            enrolled_at=cmd.enrolled_at,
        )
    )


async def record_withdrawal(cmd: commands.RecordWithdrawal, uow: UnitOfWork) -> None:
    await uow.record_withdrawal(cmd)


async def record_version_change(cmd: commands.RecordVersionChange, uow: UnitOfWork) -> None:
    """Learners keep their version until enrollment moves them; the latest move wins."""
    await uow.record_version_change(cmd)


async def record_pre_test(cmd: commands.RecordPreTest, uow: UnitOfWork) -> None:
    await uow.record_pre_test(cmd)


async def complete_lesson(cmd: commands.CompleteLesson, uow: UnitOfWork) -> Completion:
    """A repeat costs one read; the first time one more statement. Refusals are explained
    by looking further only when they happen."""
    found = await uow.find_completion(cmd.learner_id, cmd.course_id, cmd.lesson_id)
    if found.course_version is None or found.village_code is None:
        if not await uow.course_exists(cmd.course_id):
            raise UnknownCourse(str(cmd.course_id))
        raise NotEnrolled("the learner is not enrolled in this course")
    if not found.lesson_in_version:
        if cmd.lesson_id in await uow.lesson_ids_of_course(cmd.course_id):
            raise LessonNotInVersion("the lesson is not part of the learner's course version")
        raise UnknownLesson(str(cmd.lesson_id))
    if found.completed_at is not None:
        return found
    if found.pre_test_due:
        raise PreTestRequired("this course counts lessons after its pre-test: take it first")
    at = uow.clock()
    event = events.LessonCompleted(
        learner_id=cmd.learner_id,
        course_id=cmd.course_id,
        course_version=found.course_version,
        lesson_id=cmd.lesson_id,
        village_code=found.village_code,
        completed_at=at,
        recorded_at=at,
    )
    if await uow.add_completion(event):
        return replace(found, recorded=True, completed_at=at)
    # a concurrent request recorded it first, or the enrollment changed in between
    again = await uow.find_completion(cmd.learner_id, cmd.course_id, cmd.lesson_id)
    if again.completed_at is None:
        raise NotEnrolled("the learner's enrollment in this course changed")
    return again


async def sync_progress(cmd: commands.SyncProgress, uow: UnitOfWork) -> list[SyncResult]:
    """Apply a batch recorded offline: each client id once, in any order, however late."""
    at = uow.clock()
    await uow.lock_learner(cmd.learner_id)
    items = list(cmd.items)
    course_ids = {item.course_id for item in items}
    enrollments = await uow.enrollments_of(cmd.learner_id, course_ids)
    keys = {(e.course_id, e.course_version) for found in enrollments.values() for e in found}
    plan = plan_sync(
        items,
        seen_client_ids=await uow.seen_client_ids(cmd.learner_id, [x.client_id for x in items]),
        enrollments=enrollments,
        versions=await uow.lessons_of_versions(keys),
        known_courses=await uow.existing_courses(course_ids),
        now=at,
        clock_skew=CLOCK_SKEW,
        pre_test_due=frozenset(await uow.pre_test_due(cmd.learner_id, keys)),
    )
    first = _earliest_per_lesson(plan.accepted)
    recorded = await uow.add_offline_progress(cmd.learner_id, first, at)
    by_client = {r.client_id: r for r in plan.results if r.outcome == SyncOutcome.RECORDED}
    for item, enrollment in plan.accepted:
        if item.client_id not in recorded:
            by_client[item.client_id].outcome = SyncOutcome.ALREADY_RECORDED
            continue
        uow.publish(
            events.LessonCompleted(
                learner_id=cmd.learner_id,
                course_id=item.course_id,
                course_version=enrollment.course_version,
                lesson_id=item.lesson_id,
                village_code=enrollment.village_code,
                completed_at=item.completed_at,
                recorded_at=at,
                offline=True,
            )
        )
    await uow.add_sync_receipts(cmd.learner_id, list(by_client.values()), at)
    return plan.results


def _earliest_per_lesson(
    accepted: list[tuple[OfflineCompletion, Enrollment]],
) -> list[tuple[OfflineCompletion, Enrollment]]:
    """A lesson completed twice on the device counts from its first completion."""
    earliest: dict[tuple[uuid.UUID, uuid.UUID], tuple[OfflineCompletion, Enrollment]] = {}
    for item, enrollment in accepted:
        key = (item.course_id, item.lesson_id)
        if key not in earliest or item.completed_at < earliest[key][0].completed_at:
            earliest[key] = (item, enrollment)
    return list(earliest.values())


HANDLERS: Mapping[type[Any], UseCase[Any]] = {
    commands.CreateCourse: create_course,
    commands.ReviseCourse: revise_course,
    commands.PublishCourse: publish_course,
    commands.AttachDocument: attach_document,
    commands.RecordEnrollment: record_enrollment,
    commands.RecordWithdrawal: record_withdrawal,
    commands.RecordVersionChange: record_version_change,
    commands.RecordPreTest: record_pre_test,
    commands.CompleteLesson: complete_lesson,
    commands.SyncProgress: sync_progress,
}
