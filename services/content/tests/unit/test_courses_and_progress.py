"""Versions, publishing and progress rules with an in-memory unit of work."""

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from content import usecases
from content.domain import commands, events
from content.domain.errors import (
    CourseNotPublishable,
    InvalidLesson,
    LessonNotInVersion,
    NotEnrolled,
    UnknownCourse,
    UnknownLesson,
    VersionImmutable,
)
from content.domain.model import (
    Attachment,
    Completion,
    CourseContent,
    CourseVersion,
    Enrollment,
    Lesson,
    LessonKind,
    Module,
    OfflineCompletion,
    SyncOutcome,
    VersionStatus,
    plan_sync,
)
from content.domain.packages import Media
from servicekit.clock import ManualClock

NOW = datetime(2026, 11, 1, 8, tzinfo=UTC)
TOWUA = "74.01.01.2006"
BUDGET = 10 * 1024 * 1024


def text_lesson(title: str = "Siklus APBDes", **changes: object) -> Lesson:
    return replace(Lesson(uuid.uuid4(), title, LessonKind.TEXT, body="Isi."), **changes)


def content_of(*lessons: Lesson, title: str = "Keuangan Desa") -> CourseContent:
    return CourseContent(title=title, modules=(Module(uuid.uuid4(), "APBDes", lessons),))


class FakeUnitOfWork:
    def __init__(self) -> None:
        self.versions: dict[tuple[uuid.UUID, int], CourseVersion] = {}
        self.enrollments: list[Enrollment] = []
        self.progress: dict[tuple[uuid.UUID, uuid.UUID, uuid.UUID], datetime] = {}
        self.receipts: set[tuple[uuid.UUID, str]] = set()
        self.published: list[events.DomainEvent] = []
        self.pre_tests: set[tuple[uuid.UUID, uuid.UUID]] = set()
        self.attachments: list[Attachment] = []
        self.clock = ManualClock(NOW)

    def publish(self, event: events.DomainEvent) -> None:
        self.published.append(event)

    async def latest_version(self, course_id, *, lock=False):
        found = [v for (c, _), v in self.versions.items() if c == course_id]
        return replace(max(found, key=lambda v: v.version)) if found else None

    async def version(self, course_id, version):
        return self.versions.get((course_id, version))

    async def add_course(self, course, author):
        self.versions[(course.course_id, course.version)] = course

    async def save_version(self, course):
        self.versions[(course.course_id, course.version)] = course

    async def lesson_ids_of_course(self, course_id):
        return {x for (c, _), v in self.versions.items() if c == course_id for x in v.lesson_ids}

    async def missing_attachments(self, course_id, attachment_ids):
        return set(attachment_ids)

    async def add_attachment(self, attachment):
        self.attachments.append(attachment)

    async def media_of(self, course_id, attachment_ids):
        return {
            a.attachment_id: Media(
                a.attachment_id, a.filename, a.media_type, a.size_bytes, a.sha256
            )
            for a in self.attachments
            if a.course_id == course_id and a.attachment_id in attachment_ids
        }

    async def course_exists(self, course_id):
        return any(c == course_id for c, _ in self.versions)

    async def existing_courses(self, course_ids):
        return {c for c in course_ids if await self.course_exists(c)}

    async def record_enrollment(self, enrollment):
        self.enrollments.append(enrollment)

    def active(self, learner_id, course_id):
        return next(
            (
                e
                for e in self.enrollments
                if (e.learner_id, e.course_id) == (learner_id, course_id) and e.withdrawn_at is None
            ),
            None,
        )

    async def find_completion(self, learner_id, course_id, lesson_id):
        enrollment = self.active(learner_id, course_id)
        version = self.versions.get((course_id, enrollment.course_version)) if enrollment else None
        return Completion(
            course_version=enrollment.course_version if enrollment else None,
            village_code=enrollment.village_code if enrollment else None,
            lesson_in_version=version is not None and lesson_id in version.lesson_ids,
            recorded=False,
            completed_at=self.progress.get((learner_id, course_id, lesson_id)),
            pre_test_due=version is not None
            and version.rules.pre_test_before_lessons
            and (learner_id, course_id) not in self.pre_tests,
        )

    async def record_pre_test(self, cmd):
        self.pre_tests.add((cmd.learner_id, cmd.course_id))

    async def pre_test_due(self, learner_id, keys):
        return {
            course_id
            for course_id, version in keys
            if (course_id, version) in self.versions
            and self.versions[(course_id, version)].rules.pre_test_before_lessons
            and (learner_id, course_id) not in self.pre_tests
        }

    async def add_completion(self, event):
        key = (event.learner_id, event.course_id, event.lesson_id)
        if key in self.progress:
            return False
        self.progress[key] = event.completed_at
        self.published.append(event)
        return True

    async def lock_learner(self, learner_id):
        pass

    async def seen_client_ids(self, learner_id, client_ids):
        return {c for c in client_ids if (learner_id, c) in self.receipts}

    async def enrollments_of(self, learner_id, course_ids):
        return {
            c: [e for e in self.enrollments if (e.learner_id, e.course_id) == (learner_id, c)]
            for c in course_ids
        }

    async def lessons_of_versions(self, keys):
        return {k: set(self.versions[k].lesson_ids) for k in keys if k in self.versions}

    async def add_offline_progress(self, learner_id, accepted, recorded_at):
        recorded = set()
        for item, _ in accepted:
            key = (learner_id, item.course_id, item.lesson_id)
            if key not in self.progress:
                self.progress[key] = item.completed_at
                recorded.add(item.client_id)
        return recorded

    async def add_sync_receipts(self, learner_id, results, at):
        self.receipts |= {(learner_id, r.client_id) for r in results}


async def published(uow: FakeUnitOfWork, *lessons: Lesson) -> CourseVersion:
    course = await usecases.create_course(
        commands.CreateCourse("KEU-01", content_of(*lessons), "instructor"), uow
    )
    return await usecases.publish_course(commands.PublishCourse(course.course_id, BUDGET), uow)


async def enrolled(uow: FakeUnitOfWork, course: CourseVersion) -> uuid.UUID:
    learner_id = uuid.uuid4()
    await usecases.record_enrollment(
        commands.RecordEnrollment(
            uuid.uuid4(), learner_id, course.course_id, course.version, TOWUA, NOW
        ),
        uow,
    )
    return learner_id


async def test_publishing_emits_course_published_once_and_freezes_the_version() -> None:
    uow = FakeUnitOfWork()
    course = await published(uow, text_lesson(), text_lesson("Opsional", required=False))
    assert [type(e).__name__ for e in uow.published] == ["CoursePublished"]
    assert course.required_lesson_ids == course.lesson_ids[:1]
    with pytest.raises(VersionImmutable):
        await usecases.publish_course(commands.PublishCourse(course.course_id, BUDGET), uow)


async def test_a_course_without_lessons_cannot_be_published() -> None:
    uow = FakeUnitOfWork()
    course = await usecases.create_course(
        commands.CreateCourse("KOSONG", CourseContent("Kosong", ()), "instructor"), uow
    )
    with pytest.raises(CourseNotPublishable):
        await usecases.publish_course(commands.PublishCourse(course.course_id, BUDGET), uow)


async def test_revising_a_published_version_starts_the_next_draft_and_keeps_the_old_one() -> None:
    uow = FakeUnitOfWork()
    lesson = text_lesson()
    course = await published(uow, lesson)
    draft = await usecases.revise_course(
        commands.ReviseCourse(
            course.course_id, content_of(lesson, text_lesson("Baru")), frozenset({lesson.lesson_id})
        ),
        uow,
    )
    assert (draft.version, draft.status) == (2, VersionStatus.DRAFT)
    again = await usecases.revise_course(
        commands.ReviseCourse(
            course.course_id, content_of(lesson, title="Judul baru"), frozenset({lesson.lesson_id})
        ),
        uow,
    )
    assert again.version == 2 and again.title == "Judul baru"
    assert uow.versions[(course.course_id, 1)].status == VersionStatus.PUBLISHED
    with pytest.raises(InvalidLesson):
        await usecases.revise_course(
            commands.ReviseCourse(
                course.course_id, content_of(text_lesson()), frozenset({uuid.uuid4()})
            ),
            uow,
        )


@pytest.mark.parametrize(
    ("lesson", "field"),
    [
        (Lesson(uuid.uuid4(), "Video", LessonKind.VIDEO), "modules.0.lessons.0.attachment_id"),
        (Lesson(uuid.uuid4(), "Siaran", LessonKind.AUDIO), "modules.0.lessons.0.attachment_id"),
        (Lesson(uuid.uuid4(), "Dokumen", LessonKind.DOCUMENT), "modules.0.lessons.0.attachment_id"),
        (Lesson(uuid.uuid4(), "Tautan", LessonKind.LINK), "modules.0.lessons.0.url"),
    ],
)
async def test_each_lesson_kind_needs_what_a_learner_takes_it_with(
    lesson: Lesson, field: str
) -> None:
    with pytest.raises(InvalidLesson) as refused:
        await usecases.create_course(
            commands.CreateCourse("X", content_of(lesson), "instructor"), FakeUnitOfWork()
        )
    assert refused.value.field == field


async def test_an_attached_document_is_recorded_at_the_services_clock_time() -> None:
    uow = FakeUnitOfWork()
    course_id = uuid.uuid4()
    attachment = await usecases.attach_document(
        commands.AttachDocument(course_id, "Perdes.pdf", "application/pdf", 10, "ab" * 32, "ins"),
        uow,
    )
    assert uow.attachments == [attachment]
    assert (attachment.course_id, attachment.created_at, attachment.created_by) == (
        course_id,
        NOW,
        "ins",
    )


async def test_a_lesson_is_completed_once_and_its_event_carries_the_enrollments_village() -> None:
    uow = FakeUnitOfWork()
    course = await published(uow, text_lesson())
    learner_id = await enrolled(uow, course)
    cmd = commands.CompleteLesson(learner_id, course.course_id, course.lesson_ids[0])
    first = await usecases.complete_lesson(cmd, uow)
    second = await usecases.complete_lesson(cmd, uow)
    assert first.recorded and not second.recorded
    assert first.completed_at == second.completed_at
    completions = [e for e in uow.published if isinstance(e, events.LessonCompleted)]
    assert len(completions) == 1 and completions[0].village_code == TOWUA


async def test_completing_explains_why_it_was_refused() -> None:
    uow = FakeUnitOfWork()
    course = await published(uow, text_lesson())
    learner_id = await enrolled(uow, course)
    stranger = uuid.uuid4()
    lesson = course.lesson_ids[0]
    with pytest.raises(UnknownCourse):
        await usecases.complete_lesson(
            commands.CompleteLesson(learner_id, uuid.uuid4(), lesson), uow
        )
    with pytest.raises(NotEnrolled):
        await usecases.complete_lesson(
            commands.CompleteLesson(stranger, course.course_id, lesson), uow
        )
    with pytest.raises(UnknownLesson):
        await usecases.complete_lesson(
            commands.CompleteLesson(learner_id, course.course_id, uuid.uuid4()), uow
        )
    newer = await usecases.revise_course(
        commands.ReviseCourse(course.course_id, content_of(text_lesson("Baru"))), uow
    )
    with pytest.raises(LessonNotInVersion):
        await usecases.complete_lesson(
            commands.CompleteLesson(learner_id, course.course_id, newer.lesson_ids[0]), uow
        )


async def test_an_offline_batch_counts_each_client_id_once_and_keeps_device_times() -> None:
    uow = FakeUnitOfWork()
    course = await published(uow, text_lesson(), text_lesson("Dua"))
    learner_id = await enrolled(uow, course)
    a, b = course.lesson_ids
    days_ago = NOW - timedelta(days=5)
    items = (
        OfflineCompletion("1", course.course_id, a, days_ago),
        OfflineCompletion("1", course.course_id, a, days_ago),
        OfflineCompletion("2", course.course_id, b, days_ago + timedelta(hours=2)),
        OfflineCompletion("3", course.course_id, b, days_ago + timedelta(hours=1)),
    )
    results = await usecases.sync_progress(commands.SyncProgress(learner_id, items), uow)
    assert [r.outcome for r in results] == [
        SyncOutcome.RECORDED,
        SyncOutcome.DUPLICATE,
        SyncOutcome.ALREADY_RECORDED,
        SyncOutcome.RECORDED,
    ]
    completions = [e for e in uow.published if isinstance(e, events.LessonCompleted)]
    assert {(e.lesson_id, e.completed_at, e.offline) for e in completions} == {
        (a, days_ago, True),
        (b, days_ago + timedelta(hours=1), True),
    }
    replay = await usecases.sync_progress(commands.SyncProgress(learner_id, items), uow)
    assert {r.outcome for r in replay} == {SyncOutcome.DUPLICATE}


def test_a_withdrawn_learner_still_syncs_what_was_completed_before_the_withdrawal() -> None:
    course_id, lesson_id = uuid.uuid4(), uuid.uuid4()
    enrollment = Enrollment(
        uuid.uuid4(), uuid.uuid4(), course_id, 1, TOWUA, NOW - timedelta(days=30), NOW
    )
    plan = plan_sync(
        [
            OfflineCompletion("before", course_id, lesson_id, NOW - timedelta(days=2)),
            OfflineCompletion("after", course_id, lesson_id, NOW + timedelta(minutes=1)),
            OfflineCompletion("future", course_id, lesson_id, NOW + timedelta(days=2)),
        ],
        seen_client_ids=set(),
        enrollments={course_id: [enrollment]},
        versions={(course_id, 1): {lesson_id}},
        known_courses={course_id},
        now=NOW + timedelta(hours=1),
        clock_skew=timedelta(minutes=5),
    )
    assert [(r.client_id, r.outcome, r.code) for r in plan.results] == [
        ("before", SyncOutcome.RECORDED, None),
        ("after", SyncOutcome.REJECTED, "not_enrolled"),
        ("future", SyncOutcome.REJECTED, "completed_at_in_future"),
    ]
