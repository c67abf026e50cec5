"""The batch use case on a fake store: which events go by SQL, which rows are locked, loaded
and written; and a rules table that covers what reporting consumes."""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import lms_contracts as c
from reporting.domain.model import Contact, CourseVersion, EnrollmentRow, LearnerRow
from reporting.domain.rollups import Deltas
from reporting.usecases import RULES, project_batch
from servicekit.registry import service

T0 = datetime(2026, 3, 2, 8, tzinfo=UTC)
TOWUA = "74.01.01.2006"


class FakeStore:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    async def lock_learners(
        self, lessons: Sequence[c.LessonCompleted], learner_ids: Sequence[uuid.UUID]
    ) -> None:
        self.calls.append(("lock", ([d.learner_id for d in lessons], set(learner_ids))))

    async def load(
        self, learner_ids: Sequence[uuid.UUID]
    ) -> tuple[list[LearnerRow], list[EnrollmentRow]]:
        self.calls.append(("load", set(learner_ids)))
        return [LearnerRow(i) for i in learner_ids], []

    async def save_learners(self, rows: Sequence[LearnerRow]) -> None:
        self.calls.append(("learners", [r.learner_id for r in rows]))

    async def save_enrollments(self, rows: Sequence[EnrollmentRow]) -> None:
        self.calls.append(("enrollments", [(r.learner_id, r.course_id) for r in rows]))

    async def add_rollups(self, deltas: Deltas) -> None:
        self.calls.append(("rollups", len(deltas.changed_rollups())))

    async def save_courses(self, courses: Sequence[CourseVersion]) -> None:
        self.calls.append(("courses", list(courses)))

    async def save_contacts(self, contacts: Sequence[Contact]) -> None:
        if contacts:
            self.calls.append(("contacts", list(contacts)))

    async def apply_lessons(self, lessons: Sequence[c.LessonCompleted]) -> None:
        self.calls.append(("lessons", [d.lesson_id for d in lessons]))

    async def log_contact_views(
        self, views: Sequence[c.CloudEvent[c.LearnerContactsViewed]]
    ) -> None:
        self.calls.append(("contact reads", [e.id for e in views]))


def test_the_rules_table_covers_exactly_the_events_reporting_consumes() -> None:
    assert set(RULES) == set(service("reporting").consumes)


async def test_lessons_go_by_sql_and_the_other_events_through_loaded_rows() -> None:
    learner, other, course = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    lesson = c.LessonCompleted(
        learner_id=other,
        course_id=course,
        course_version=1,
        lesson_id=uuid.uuid4(),
        village_code=TOWUA,
        completed_at=T0,
        recorded_at=T0,
    )
    registered = c.LearnerRegistered(
        learner_id=learner,
        full_name="Wa Ode",
        position="kepala_desa",
        village_code=TOWUA,
        registered_at=T0,
    )
    published = c.CoursePublished(
        course_id=course,
        course_version=1,
        code="KD",
        title="Keuangan Desa",
        lesson_ids=[lesson.lesson_id],
        required_lesson_ids=[],
        published_at=T0,
    )
    store = FakeStore()

    await project_batch([c.new_event(d) for d in (lesson, registered, published)], store)

    assert store.calls == [
        ("lock", ([other], {learner})),
        ("load", {learner}),
        ("learners", [learner]),
        ("enrollments", []),
        ("rollups", 5),  # registered, at every region level
        ("courses", [CourseVersion(course, 1, "KD", "Keuangan Desa", 1, 0, [lesson.lesson_id])]),
        ("lessons", [lesson.lesson_id]),
    ]


async def test_a_batch_of_lessons_alone_loads_and_writes_no_rows() -> None:
    lesson = c.LessonCompleted(
        learner_id=uuid.uuid4(),
        course_id=uuid.uuid4(),
        course_version=1,
        lesson_id=uuid.uuid4(),
        village_code=TOWUA,
        completed_at=T0,
        recorded_at=T0,
    )
    store = FakeStore()

    await project_batch([c.new_event(lesson)], store)

    assert [name for name, _ in store.calls] == ["lock", "lessons"]


async def test_reads_of_contacts_are_logged_by_event_and_touch_no_counted_row() -> None:
    viewed = c.new_event(
        c.LearnerContactsViewed(
            viewer="admin-1",
            viewer_role="admin",
            route="GET /v1/learners",
            learner_ids=[uuid.uuid4(), uuid.uuid4()],
            viewed_at=T0,
        )
    )
    store = FakeStore()

    await project_batch([viewed], store)

    assert store.calls == [("lock", ([], set())), ("lessons", []), ("contact reads", [viewed.id])]
