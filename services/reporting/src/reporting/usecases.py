"""The projection: what each event does to the read-model rows (``RULES``, the reporting
service's one table), and the use case that applies a batch of events (``project_batch``).

Every rule is idempotent (a flag that only turns on, a maximum or first attempt, a set, the
newest by its own timestamp), which is why the consumer keeps no inbox (ADR 6): a rule that
is not, a count of events say, needs the inbox back or the seen ids in its row.

Most rules change the batch's rows in memory (``domain/``), and the rollups move by what the
changed rows contribute after the batch minus before. Lesson completions, nearly every event
at national scale and never a change to a rollup counter, are applied to the whole batch by
one SQL statement instead (``store/lessons.py``, ADR 7).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import lms_contracts as c

from .domain.changes import Changes
from .domain.model import Contact, CourseVersion, EnrollmentRow, LearnerRow, mark_active
from .domain.rollups import Deltas

RowRule = Callable[[Changes, Any], None]


@dataclass(frozen=True, slots=True)
class Rule:
    """What one event type does. ``rows`` changes the batch's rows in memory; without it the
    store applies the batch's events of the type set-based. ``learner``: the event is about a
    learner, whose rows the batch locks (and loads) before anything else."""

    rows: RowRule | None
    learner: bool = True


def registered(changes: Changes, data: c.LearnerRegistered) -> None:
    """Learner: the newest profile, registered. Their enrollments follow their village."""
    changes.learner(data.learner_id).take_profile(
        data.full_name, data.village_code, data.position.value, data.registered_at, True
    )


def profile_updated(changes: Changes, data: c.LearnerUpdated) -> None:
    """Learner: the newest profile. Their enrollments follow their village."""
    changes.learner(data.learner_id).take_profile(
        data.full_name, data.village_code, data.position.value, data.updated_at, True
    )


def enrolled(changes: Changes, data: c.Enrolled) -> None:
    """Enrollment: the newest, its cohort. Learner: placed there until their profile comes."""
    row, learner = changes.enrollment_of(data.learner_id, data.course_id)
    learner.assume_place(data.village_code, data.position.value)
    if row.enroll(data.enrollment_id, data.enrolled_at, data.cohort):
        row.course_title = data.course_title
        moved_first = row.moved_id == data.enrollment_id
        row.course_version = row.moved_version if moved_first else data.course_version


def version_changed(changes: Changes, data: c.CourseVersionChanged) -> None:
    """Enrollment: the version of its latest move (a later move number wins)."""
    row, learner = changes.enrollment_of(data.learner_id, data.course_id)
    learner.assume_place(data.village_code, None)
    row.move(data.enrollment_id, data.course_version, data.move_number, data.changed_at)


def withdrawn(changes: Changes, data: c.Withdrawn) -> None:
    """Enrollment: the newest withdrawal (a later enrollment clears it)."""
    row, learner = changes.enrollment_of(data.learner_id, data.course_id)
    learner.assume_place(data.village_code, None)
    row.withdraw(data.enrollment_id, data.withdrawn_at)


def graded(changes: Changes, data: c.Passed | c.Failed) -> None:
    """Enrollment: pre-test first attempt, post-test best, passed. Both: last activity."""
    row, learner = changes.enrollment_of(data.learner_id, data.course_id)
    if data.assessment_kind == c.AssessmentKind.PRE_TEST:
        row.grade_pre_test(data.score, data.attempt_number)
    elif data.assessment_kind == c.AssessmentKind.POST_TEST:
        row.grade_post_test(data.score, isinstance(data, c.Passed))
    mark_active(data.graded_at, row, learner)


def course_completed(changes: Changes, data: c.CourseCompleted) -> None:
    """Enrollment: completed. Both: last activity."""
    row, learner = changes.enrollment_of(data.learner_id, data.course_id)
    row.completed = True
    mark_active(data.completed_at, row, learner)


def certificate_issued(changes: Changes, data: c.CertificateIssued) -> None:
    """Enrollment: certified, with its verification code."""
    row, _ = changes.enrollment_of(data.learner_id, data.course_id)
    row.certified = True
    row.certificate_code = data.verification_code


def certificate_revoked(changes: Changes, data: c.CertificateRevoked) -> None:
    """Enrollment: its certificate no longer holds (counted as revoked, not certified)."""
    row, _ = changes.enrollment_of(data.learner_id, data.course_id)
    row.revoked = True


def course_published(changes: Changes, data: c.CoursePublished) -> None:
    """A course version (written apart from the learners' rows)."""
    changes.courses.append(
        CourseVersion(
            data.course_id,
            data.course_version,
            data.code,
            data.title,
            len(data.lesson_ids),
            len(data.required_lesson_ids),
            data.lesson_ids,
        )
    )


def contact_changed(changes: Changes, data: c.LearnerContactChanged) -> None:
    """A learner's phone and e-mail, the newest by its own time (kept apart from the rows
    that count, shown only to the learner's supervisors and admins: ADR 22)."""
    changes.contacts.append(Contact(data.learner_id, data.phone, data.email, data.changed_at))


RULES: dict[type[c.EventData], Rule] = {
    c.LearnerRegistered: Rule(registered),
    c.LearnerUpdated: Rule(profile_updated),
    c.Enrolled: Rule(enrolled),
    c.Withdrawn: Rule(withdrawn),
    c.CourseVersionChanged: Rule(version_changed),
    c.Passed: Rule(graded),
    c.Failed: Rule(graded),
    c.CourseCompleted: Rule(course_completed),
    c.CertificateIssued: Rule(certificate_issued),
    c.CertificateRevoked: Rule(certificate_revoked),
    c.CoursePublished: Rule(course_published, learner=False),
    c.LearnerContactChanged: Rule(contact_changed, learner=False),
    # Enrollment: the lesson counted once; both: last activity. Set-based, in SQL (ADR 7).
    c.LessonCompleted: Rule(None),
    # Not a projection: enrollment's reads of contacts, into the access log, a row per learner
    # keyed by the event (a redelivery adds nothing; ADR 22). Set-based, in SQL.
    c.LearnerContactsViewed: Rule(None, learner=False),
}


class ProjectionStore(Protocol):
    async def lock_learners(
        self, lessons: Sequence[c.LessonCompleted], learner_ids: Sequence[uuid.UUID]
    ) -> None: ...
    async def load(
        self, learner_ids: Sequence[uuid.UUID]
    ) -> tuple[list[LearnerRow], list[EnrollmentRow]]: ...
    async def save_learners(self, rows: Sequence[LearnerRow]) -> None: ...
    async def save_enrollments(self, rows: Sequence[EnrollmentRow]) -> None: ...
    async def add_rollups(self, deltas: Deltas) -> None: ...
    async def save_courses(self, courses: Sequence[CourseVersion]) -> None: ...
    async def save_contacts(self, contacts: Sequence[Contact]) -> None: ...
    async def apply_lessons(self, lessons: Sequence[c.LessonCompleted]) -> None: ...
    async def log_contact_views(
        self, views: Sequence[c.CloudEvent[c.LearnerContactsViewed]]
    ) -> None: ...


def apply_rules(changes: Changes, events: Iterable[c.CloudEvent[Any]]) -> Changes:
    """The in-memory rules of ``events``, in their order, on the batch's loaded rows."""
    for event in events:
        rule = RULES.get(type(event.data))
        if rule is not None and rule.rows is not None:
            rule.rows(changes, event.data)
    changes.place_enrollments()
    return changes


async def project_batch(events: Sequence[c.CloudEvent[Any]], store: ProjectionStore) -> None:
    """Apply a batch of (new, deduplicated) events: lock its learners, change the rows of
    the in-memory rules and the rollups, then add the lesson completions and log the reads of
    contacts."""
    lessons: list[c.LessonCompleted] = []
    views: list[c.CloudEvent[c.LearnerContactsViewed]] = []
    others: list[c.CloudEvent[Any]] = []
    learners: set[uuid.UUID] = set()
    for event in events:
        data = event.data
        rule = RULES.get(type(data))
        if isinstance(data, c.LearnerContactsViewed):
            views.append(event)
            continue
        if rule is not None and rule.rows is None:
            lessons.append(data)
            continue
        others.append(event)
        if rule is not None and rule.learner:
            learners.add(data.learner_id)
    learner_ids = list(learners)
    await store.lock_learners(lessons, learner_ids)
    if others:
        loaded = await store.load(learner_ids) if learner_ids else ([], [])
        changes = apply_rules(Changes(*loaded), others)
        deltas = changes.deltas()
        await store.save_learners(changes.changed_learners())
        await store.save_enrollments(changes.changed_enrollments())
        await store.add_rollups(deltas)
        await store.save_courses(changes.courses)
        await store.save_contacts(changes.contacts)
    await store.apply_lessons(lessons)
    if views:
        await store.log_contact_views(views)
