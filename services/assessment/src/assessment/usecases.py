"""Use cases of the assessment service. Each takes a command and a unit of work; time comes
from the unit of work's clock.

What handles what:

| command                | use case                | emits                                     |
|------------------------|-------------------------|-------------------------------------------|
| CreateAssessment       | create_assessment       | (version 1, published; one post-test/course)|
| ReviseAssessment       | revise_assessment       | (the next version, a draft)               |
| PublishAssessment      | publish_assessment      | (the draft replaces the published version)|
| GrantAttempts          | grant_attempts          | Granted                                   |
| GrantTime              | grant_time              | Granted                                   |
| StartAttempt           | start_attempt           | Graded (an earlier attempt that ran out)  |
|   (offline: a paper)   |                         |                                           |
| SubmitAttempt          | submit_attempt          | Graded (once per attempt, papers too)     |
| ExpireOverdue          | expire_overdue          | Graded (zero, for abandoned attempts)     |
| RecordCoursePublished  | record_course_published |                                           |
| RecordEnrolled         | record_enrolled         |                                           |
| RecordWithdrawn        | record_withdrawn        |                                           |
| RecordVersionChange    | record_version_change   |                                           |
| RecordLessonCompleted  | record_lesson_completed |                                           |
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from servicekit.clock import Clock
from servicekit.runner import UseCase

from .domain import commands, events
from .domain.authoring import build_assessment
from .domain.drawing import draw
from .domain.errors import (
    InvalidField,
    MaxAttemptsReached,
    NoDraft,
    PaperOutdated,
    PostTestExists,
    UnknownAssessment,
    UnknownAttempt,
)
from .domain.grading import check_answers, grade, max_points
from .domain.model import (
    Assessment,
    AssessmentKind,
    Attempt,
    AttemptStatus,
    CourseVersion,
    Grant,
    LearnerEnrollment,
    VersionStatus,
    attempts_allowed,
    require_enrolled,
)


class UnitOfWork(Protocol):
    clock: Clock

    def publish(self, event: events.DomainEvent) -> None: ...
    async def add_assessment(self, assessment: Assessment, created_by: str) -> None: ...
    async def get_assessment(
        self, assessment_id: uuid.UUID, version: int | None = None
    ) -> Assessment | None: ...
    async def post_test_of(self, course_id: uuid.UUID) -> uuid.UUID | None: ...
    async def latest_version(
        self, assessment_id: uuid.UUID
    ) -> tuple[int, VersionStatus] | None: ...
    async def save_draft(self, assessment: Assessment, edited_by: str) -> None: ...
    async def publish_version(self, assessment: Assessment) -> None: ...
    async def extra_attempts(self, learner_id: uuid.UUID, assessment_id: uuid.UUID) -> int: ...
    async def add_grant(self, grant: Grant) -> None: ...
    async def active_enrollment(
        self, learner_id: uuid.UUID, course_id: uuid.UUID, *, lock: bool = False
    ) -> LearnerEnrollment | None: ...
    async def course_version(self, course_id: uuid.UUID, version: int) -> CourseVersion | None: ...
    async def attempts_of(
        self, learner_id: uuid.UUID, assessment_id: uuid.UUID
    ) -> list[Attempt]: ...
    async def get_attempt(self, attempt_id: uuid.UUID, *, lock: bool = False) -> Attempt | None: ...
    async def add_attempt(self, attempt: Attempt) -> None: ...
    async def save_attempt(self, attempt: Attempt) -> None: ...
    async def overdue_attempts(self, expired_before: datetime, limit: int) -> list[Attempt]: ...
    async def add_course_version(self, course: CourseVersion) -> None: ...
    async def save_enrollment(self, cmd: commands.RecordEnrolled) -> None: ...
    async def withdraw_enrollment(self, cmd: commands.RecordWithdrawn) -> None: ...
    async def change_version(self, cmd: commands.RecordVersionChange) -> None: ...
    async def add_lesson_completion(self, cmd: commands.RecordLessonCompleted) -> None: ...


async def create_assessment(cmd: commands.CreateAssessment, uow: UnitOfWork) -> Assessment:
    """Version 1, published. A course has one post-test: a second is refused, the first is
    revised instead (its versions replace each other, never stand side by side)."""
    assessment = build_assessment(cmd, uuid.uuid4(), uow.clock())
    if cmd.kind == AssessmentKind.POST_TEST:
        existing = await uow.post_test_of(cmd.course_id)
        if existing is not None:
            raise PostTestExists(existing)
    await uow.add_assessment(assessment, cmd.created_by)
    return assessment


async def revise_assessment(cmd: commands.ReviseAssessment, uow: UnitOfWork) -> Assessment:
    """The draft of the next version: written anew while it is a draft."""
    latest = await uow.latest_version(cmd.assessment_id)
    current = await uow.get_assessment(cmd.assessment_id)
    if latest is None or current is None:
        raise UnknownAssessment(str(cmd.assessment_id))
    for name in ("course_id", "kind"):
        if getattr(cmd.changes, name) != getattr(current, name):
            raise InvalidField(name, "an assessment keeps its course and kind in every version")
    number, status = latest
    version = number if status == VersionStatus.DRAFT else number + 1
    draft = build_assessment(
        cmd.changes, cmd.assessment_id, uow.clock(), version, VersionStatus.DRAFT
    )
    await uow.save_draft(draft, cmd.changes.created_by)
    return draft


async def publish_assessment(cmd: commands.PublishAssessment, uow: UnitOfWork) -> Assessment:
    latest = await uow.latest_version(cmd.assessment_id)
    if latest is None:
        raise UnknownAssessment(str(cmd.assessment_id))
    if latest[1] != VersionStatus.DRAFT:
        raise NoDraft(f"version {latest[0]} is published already; revise it first")
    draft = await uow.get_assessment(cmd.assessment_id, latest[0])
    assert draft is not None
    published = replace(draft, status=VersionStatus.PUBLISHED)
    await uow.publish_version(published)
    return published


async def start_attempt(cmd: commands.StartAttempt, uow: UnitOfWork) -> tuple[Attempt, bool]:
    """A new attempt (True), or the one still in progress (False): starting twice never burns
    an attempt nor re-draws the paper. An offline paper of a course version the learner no
    longer follows is void: it counts for nothing and a new paper is drawn."""
    now = uow.clock()
    assessment = await _assessment(uow, cmd.assessment_id)
    if cmd.offline:
        assessment.require_offline()
    enrollment = require_enrolled(
        await uow.active_enrollment(cmd.learner_id, assessment.course_id, lock=True)
    )
    course = None
    if assessment.kind == AssessmentKind.POST_TEST:
        course = await uow.course_version(enrollment.course_id, enrollment.course_version)
    enrollment.require_open(assessment.kind, course)
    attempts = await uow.attempts_of(cmd.learner_id, assessment.assessment_id)
    current = next((a for a in attempts if a.status == AttemptStatus.IN_PROGRESS), None)
    if current is not None and _outdated(current, enrollment.course_version):
        current.void()
        await uow.save_attempt(current)
        current = None
    if current is not None and current.is_open(now):
        if cmd.offline and not current.offline:
            current.offline = True
            await uow.save_attempt(current)
        return current, False
    extra = await uow.extra_attempts(cmd.learner_id, assessment.assessment_id)
    allowed = attempts_allowed(assessment, extra)
    if allowed is not None and sum(a.counts for a in attempts) >= allowed:
        raise MaxAttemptsReached(allowed)
    if current is not None:
        await _expire(current, await _version_of(current, uow), uow, now)
    paper = draw(assessment, cmd.seed)
    limit = assessment.time_limit_seconds
    attempt = Attempt(
        attempt_id=uuid.uuid4(),
        assessment_id=assessment.assessment_id,
        learner_id=cmd.learner_id,
        course_id=assessment.course_id,
        village_code=enrollment.village_code,
        attempt_number=len(attempts) + 1,
        seed=cmd.seed,
        paper=paper,
        started_at=now,
        expires_at=now + timedelta(seconds=limit) if limit is not None else None,
        assessment_version=assessment.version,
        offline=cmd.offline,
        course_version=enrollment.course_version,
    )
    await uow.add_attempt(attempt)
    return attempt, True


def _outdated(attempt: Attempt, course_version: int | None) -> bool:
    return (
        attempt.offline
        and attempt.course_version is not None
        and course_version is not None
        and attempt.course_version != course_version
    )


async def submit_attempt(cmd: commands.SubmitAttempt, uow: UnitOfWork) -> Attempt:
    """Grade once. A repeat gets the first result whatever it sends; a submission later than
    the time limit plus ``grace`` is not graded and the attempt counts as zero (expired). An
    offline paper is graded when it arrives, with the device's ``answered_at`` kept, unless
    the learner has moved to another course version since it was issued."""
    now = uow.clock()
    attempt = await uow.get_attempt(cmd.attempt_id, lock=True)
    if attempt is None or attempt.learner_id != cmd.learner_id:
        raise UnknownAttempt(str(cmd.attempt_id))
    if attempt.status in (AttemptStatus.GRADED, AttemptStatus.EXPIRED):
        return attempt
    if attempt.offline:
        enrollment = await uow.active_enrollment(attempt.learner_id, attempt.course_id)
        current = enrollment.course_version if enrollment else None
        if attempt.status == AttemptStatus.VOID or _outdated(attempt, current):
            raise PaperOutdated(attempt.course_version, current)
    assessment = await _version_of(attempt, uow)
    if attempt.is_late(now, cmd.grace):
        await _expire(attempt, assessment, uow, now)
        return attempt
    await _still_open(assessment, attempt, uow)
    attempt.record_answered_at(cmd.answered_at, now, cmd.clock_skew)
    answers = check_answers(assessment, attempt.paper, cmd.answers)
    points, possible = grade(assessment, attempt.paper, answers)
    attempt.record_grade(answers, points, possible, assessment.pass_score, now)
    await uow.save_attempt(attempt)
    uow.publish(events.Graded(attempt, assessment))
    return attempt


async def _still_open(assessment: Assessment, attempt: Attempt, uow: UnitOfWork) -> None:
    """A post-test is graded only while it is open to the learner: moved meanwhile to a
    version with lessons still to do, they submit again once those are done (the attempt
    stays open until its time runs out)."""
    if assessment.kind != AssessmentKind.POST_TEST:
        return
    enrollment = await uow.active_enrollment(attempt.learner_id, attempt.course_id, lock=True)
    if enrollment is None:
        return
    course = await uow.course_version(enrollment.course_id, enrollment.course_version)
    enrollment.require_open(assessment.kind, course)


async def expire_overdue(cmd: commands.ExpireOverdue, uow: UnitOfWork) -> int:
    """Close attempts whose time (and grace) ran out without a submission, as zero; replicas
    may run it together (each takes other overdue attempts)."""
    now = uow.clock()
    overdue = await uow.overdue_attempts(now - cmd.grace, cmd.limit)
    for attempt in overdue:
        await _expire(attempt, await _version_of(attempt, uow), uow, now)
    return len(overdue)


async def _expire(attempt: Attempt, assessment: Assessment, uow: UnitOfWork, now: datetime) -> None:
    attempt.expire(max_points(assessment, attempt.paper), now)
    await uow.save_attempt(attempt)
    uow.publish(events.Graded(attempt, assessment))


async def _version_of(attempt: Attempt, uow: UnitOfWork) -> Assessment:
    """The version the attempt's paper was drawn from, whatever is published now."""
    assessment = await uow.get_assessment(attempt.assessment_id, attempt.assessment_version)
    if assessment is None:
        raise UnknownAssessment(str(attempt.assessment_id))
    return assessment


async def grant_attempts(cmd: commands.GrantAttempts, uow: UnitOfWork) -> Grant:
    """More attempts for one enrolled learner, with the reason recorded and published."""
    assessment = await _assessment(uow, cmd.assessment_id)
    enrollment = await uow.active_enrollment(cmd.learner_id, assessment.course_id)
    if enrollment is None:
        raise InvalidField("learner_id", "the learner is not enrolled in this course")
    grant = _grant(assessment, cmd.learner_id, enrollment.village_code, cmd, uow.clock())
    return await _record(replace(grant, extra_attempts=cmd.extra_attempts), uow)


async def grant_time(cmd: commands.GrantTime, uow: UnitOfWork) -> Grant:
    """More time on one attempt still running; a finished one is refused."""
    attempt = await uow.get_attempt(cmd.attempt_id, lock=True)
    if attempt is None:
        raise UnknownAttempt(str(cmd.attempt_id))
    attempt.extend(cmd.extra_seconds, uow.clock())
    await uow.save_attempt(attempt)
    assessment = await _version_of(attempt, uow)
    grant = _grant(assessment, attempt.learner_id, attempt.village_code, cmd, uow.clock())
    extended = replace(grant, extra_seconds=cmd.extra_seconds, attempt_id=attempt.attempt_id)
    return await _record(extended, uow)


def _grant(
    assessment: Assessment,
    learner_id: uuid.UUID,
    village_code: str,
    cmd: commands.GrantAttempts | commands.GrantTime,
    at: datetime,
) -> Grant:
    return Grant(
        grant_id=uuid.uuid4(),
        assessment_id=assessment.assessment_id,
        learner_id=learner_id,
        course_id=assessment.course_id,
        village_code=village_code,
        extra_attempts=0,
        extra_seconds=0,
        reason=cmd.reason.strip(),
        granted_by=cmd.granted_by,
        granted_at=at,
    )


async def _record(grant: Grant, uow: UnitOfWork) -> Grant:
    await uow.add_grant(grant)
    uow.publish(events.Granted(grant))
    return grant


async def _assessment(uow: UnitOfWork, assessment_id: uuid.UUID) -> Assessment:
    assessment = await uow.get_assessment(assessment_id)
    if assessment is None:
        raise UnknownAssessment(str(assessment_id))
    return assessment


async def record_course_published(cmd: commands.RecordCoursePublished, uow: UnitOfWork) -> None:
    await uow.add_course_version(
        CourseVersion(cmd.course_id, cmd.version, frozenset(cmd.required_lesson_ids), cmd.lessons)
    )


async def record_enrolled(cmd: commands.RecordEnrolled, uow: UnitOfWork) -> None:
    await uow.save_enrollment(cmd)


async def record_withdrawn(cmd: commands.RecordWithdrawn, uow: UnitOfWork) -> None:
    await uow.withdraw_enrollment(cmd)


async def record_version_change(cmd: commands.RecordVersionChange, uow: UnitOfWork) -> None:
    await uow.change_version(cmd)


async def record_lesson_completed(cmd: commands.RecordLessonCompleted, uow: UnitOfWork) -> None:
    await uow.add_lesson_completion(cmd)


HANDLERS: Mapping[type[Any], UseCase[Any]] = {
    commands.CreateAssessment: create_assessment,
    commands.ReviseAssessment: revise_assessment,
    commands.PublishAssessment: publish_assessment,
    commands.GrantAttempts: grant_attempts,
    commands.GrantTime: grant_time,
    commands.StartAttempt: start_attempt,
    commands.SubmitAttempt: submit_attempt,
    commands.ExpireOverdue: expire_overdue,
    commands.RecordCoursePublished: record_course_published,
    commands.RecordEnrolled: record_enrolled,
    commands.RecordWithdrawn: record_withdrawn,
    commands.RecordVersionChange: record_version_change,
    commands.RecordLessonCompleted: record_lesson_completed,
}
