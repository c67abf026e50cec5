"""One example of every event, as a regional system in Sulawesi Tenggara would receive it.

The AsyncAPI document shows them; they are built from the payload models, so an example that
no longer validates fails at import, and a new event without an example fails a test.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from .envelope import CloudEvent, EventData, new_event
from .registry import subject_of
from .v1 import (
    EVENTS,
    AssessmentKind,
    CertificateIssued,
    CertificateRevoked,
    CourseCompleted,
    CoursePublished,
    CourseVersionChanged,
    Enrolled,
    ExtensionGranted,
    Failed,
    LearnerContactChanged,
    LearnerContactsViewed,
    LearnerRegistered,
    LearnerUpdated,
    LessonCompleted,
    Passed,
    Position,
    PublishedLesson,
    Withdrawn,
)

TOWUA = "74.01.01.2006"  # a village of Kolaka, Sulawesi Tenggara
AT = datetime(2026, 11, 2, 1, 30, tzinfo=UTC)


def _id(name: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"https://lms.example/examples/{name}")


LEARNER, COURSE, ENROLLMENT = _id("learner"), _id("course"), _id("enrollment")
LESSONS = [_id("lesson-1"), _id("lesson-2")]
_graded = dict(
    attempt_id=_id("attempt"),
    assessment_id=_id("assessment"),
    assessment_kind=AssessmentKind.POST_TEST,
    learner_id=LEARNER,
    course_id=COURSE,
    village_code=TOWUA,
    pass_score=70.0,
    attempt_number=1,
    graded_at=AT,
)

PAYLOADS: tuple[EventData, ...] = (
    LearnerRegistered(
        learner_id=LEARNER,
        full_name="Wa Ode Sitti Rahma",
        position=Position.SEKRETARIS_DESA,
        village_code=TOWUA,
        registered_at=AT,
    ),
    LearnerUpdated(
        learner_id=LEARNER,
        full_name="Wa Ode Sitti Rahma",
        position=Position.KEPALA_DESA,
        village_code=TOWUA,
        updated_at=AT,
    ),
    LearnerContactChanged(
        learner_id=LEARNER,
        full_name="Wa Ode Sitti Rahma",
        village_code=TOWUA,
        phone="+6281234567890",
        changed_at=AT,
    ),
    Enrolled(
        enrollment_id=ENROLLMENT,
        learner_id=LEARNER,
        course_id=COURSE,
        course_version=1,
        course_title="Pengelolaan Keuangan Desa",
        village_code=TOWUA,
        position=Position.SEKRETARIS_DESA,
        cohort="Kolaka 2026 gelombang 1",
        enrolled_at=AT,
    ),
    Withdrawn(
        enrollment_id=ENROLLMENT,
        learner_id=LEARNER,
        course_id=COURSE,
        course_title="Pengelolaan Keuangan Desa",
        village_code=TOWUA,
        reason="pindah tugas",
        withdrawn_at=AT,
    ),
    LessonCompleted(
        learner_id=LEARNER,
        course_id=COURSE,
        course_version=1,
        lesson_id=LESSONS[0],
        village_code=TOWUA,
        completed_at=datetime(2026, 10, 30, 9, 15, tzinfo=UTC),
        recorded_at=AT,
        offline=True,
    ),
    CoursePublished(
        course_id=COURSE,
        course_version=1,
        code="KEU-01",
        title="Pengelolaan Keuangan Desa",
        competency_area="keuangan",
        lesson_ids=LESSONS,
        required_lesson_ids=LESSONS,
        published_at=AT,
        lessons=[
            PublishedLesson(lesson_id=LESSONS[0], title="Siklus APBDes"),
            PublishedLesson(lesson_id=LESSONS[1], title="Perubahan Permendagri 2027"),
        ],
        pre_test_before_lessons=True,
        min_post_test_score=70.0,
        training_hours=24,
    ),
    Passed(score=85.0, **_graded),
    Failed(score=55.0, **_graded),
    CourseCompleted(
        enrollment_id=ENROLLMENT,
        learner_id=LEARNER,
        course_id=COURSE,
        course_version=1,
        village_code=TOWUA,
        score=85.0,
        completed_at=AT,
    ),
    CertificateIssued(
        certificate_id=_id("certificate"),
        verification_code="KEU01-7401-X4K9",
        enrollment_id=ENROLLMENT,
        learner_id=LEARNER,
        course_id=COURSE,
        course_title="Pengelolaan Keuangan Desa",
        village_code=TOWUA,
        score=85.0,
        issued_at=AT,
    ),
    CourseVersionChanged(
        enrollment_id=ENROLLMENT,
        learner_id=LEARNER,
        course_id=COURSE,
        course_title="Pengelolaan Keuangan Desa",
        village_code=TOWUA,
        from_version=1,
        course_version=2,
        move_number=1,
        changed_at=AT,
    ),
    CertificateRevoked(
        certificate_id=_id("certificate"),
        verification_code="KEU01-7401-X4K9",
        enrollment_id=ENROLLMENT,
        learner_id=LEARNER,
        course_id=COURSE,
        course_title="Pengelolaan Keuangan Desa",
        village_code=TOWUA,
        reason="diterbitkan sebelum materi wajib versi 2 selesai",
        revoked_at=AT,
    ),
    ExtensionGranted(
        grant_id=_id("grant"),
        assessment_id=_id("assessment"),
        learner_id=LEARNER,
        course_id=COURSE,
        village_code=TOWUA,
        extra_attempts=1,
        extra_seconds=0,
        reason="listrik padam saat post-test",
        granted_at=AT,
    ),
    LearnerContactsViewed(
        viewer="admin-kemendagri",
        viewer_role="admin",
        route="GET /v1/learners/{learner_id}",
        learner_ids=[LEARNER],
        viewed_at=AT,
    ),
)

EXAMPLES: dict[type[EventData], CloudEvent[EventData]] = {
    type(data): new_event(
        data,
        event_id=_id(data.event_type),
        time=AT,
        correlation_id=str(_id("request")),
    )
    for data in PAYLOADS
}


def example_subject(event: type[EventData]) -> str:
    return subject_of(EXAMPLES[event].data)


assert set(EXAMPLES) == set(EVENTS), "every event has an example"
