"""An in-memory unit of work for the enrollment use cases."""

import uuid
from datetime import datetime

from enrollment.domain import events
from enrollment.domain.model import (
    BulkEnrollment,
    Certificate,
    Cohort,
    CourseVersion,
    Enrollment,
    EnrollmentStatus,
    JobState,
    Learner,
)
from servicekit.clock import ManualClock


class FakeUnitOfWork:
    def __init__(self) -> None:
        self.learners: dict[uuid.UUID, Learner] = {}
        self.courses: dict[tuple[uuid.UUID, int], CourseVersion] = {}
        self.enrollments: dict[uuid.UUID, Enrollment] = {}
        self.lessons: set[tuple[uuid.UUID, uuid.UUID, uuid.UUID]] = set()
        self.passes: dict[tuple[uuid.UUID, uuid.UUID], float] = {}
        self.certificates: list[str] = []
        self.published: list[events.DomainEvent] = []
        self.cohorts: dict[tuple[uuid.UUID, str], Cohort] = {}
        self.jobs: dict[uuid.UUID, tuple[BulkEnrollment, int]] = {}
        self.job_states: dict[uuid.UUID, JobState] = {}
        self.clock = ManualClock()
        self.pre_tests: set[tuple[uuid.UUID, uuid.UUID]] = set()
        self.issued: dict[str, Certificate] = {}

    def now(self) -> datetime:
        return self.clock()

    def publish(self, event: events.DomainEvent) -> None:
        self.published.append(event)

    def kinds(self) -> list[str]:
        return [type(e).__name__ for e in self.published]

    async def get_learner(self, learner_id, *, lock=False):
        return self.learners.get(learner_id)

    async def find_learner_by_nik(self, nik_hash):
        return next((x for x in self.learners.values() if x.nik_hash == nik_hash), None)

    async def learners_at(self, village_code, position):
        return [
            x
            for x in self.learners.values()
            if x.village_code == village_code and x.position == position
        ]

    async def recall_people(self, places, nik_hashes):
        pass

    async def job_state(self, job_id):
        return self.job_states.get(job_id)

    async def close_job(self, job_id, state):
        self.job_states[job_id] = state

    async def add_learner(self, learner, now):
        self.learners[learner.learner_id] = learner

    async def save_learner(self, learner, now):
        self.learners[learner.learner_id] = learner

    async def latest_course(self, course_id):
        versions = [c for (cid, _), c in self.courses.items() if cid == course_id]
        return max(versions, key=lambda c: c.version, default=None)

    async def get_cohort(self, course_id, name):
        return self.cohorts.get((course_id, name))

    async def add_cohort(self, cohort):
        key = (cohort.course_id, cohort.name)
        if key in self.cohorts:
            return False
        self.cohorts[key] = cohort
        return True

    async def course(self, course_id, version):
        return self.courses.get((course_id, version))

    async def add_course(self, course, code, published_at):
        self.courses.setdefault((course.course_id, course.version), course)

    async def _with_progress(self, enrollment):
        enrollment.completed_lesson_ids = {
            lesson
            for (learner, course, lesson) in self.lessons
            if learner == enrollment.learner_id and course == enrollment.course_id
        }
        enrollment.pre_test_taken = (enrollment.learner_id, enrollment.course_id) in self.pre_tests
        return enrollment

    async def add_pre_test(self, learner_id, course_id, at):
        self.pre_tests.add((learner_id, course_id))

    async def completed_courses(self, learner_id):
        return frozenset(
            e.course_id
            for e in self.enrollments.values()
            if e.learner_id == learner_id and e.status == EnrollmentStatus.COMPLETED
        )

    async def in_progress_of(self, learner_id):
        return [
            await self._with_progress(e)
            for e in self.enrollments.values()
            if e.learner_id == learner_id and e.status == EnrollmentStatus.IN_PROGRESS
        ]

    async def get_enrollment(self, enrollment_id, *, lock=False):
        found = self.enrollments.get(enrollment_id)
        return await self._with_progress(found) if found else None

    async def active_enrollment(self, learner_id, course_id):
        for e in self.enrollments.values():
            if e.learner_id == learner_id and e.course_id == course_id and e.is_active:
                return await self._with_progress(e)
        return None

    async def enrollments_in_progress(self, course_id, version):
        return [
            await self._with_progress(e)
            for e in self.enrollments.values()
            if e.course_id == course_id
            and e.course_version == version
            and e.status == EnrollmentStatus.IN_PROGRESS
        ]

    async def add_enrollment(self, enrollment):
        self.enrollments[enrollment.enrollment_id] = enrollment

    async def save_enrollment(self, enrollment):
        self.enrollments[enrollment.enrollment_id] = enrollment

    async def add_lesson_completion(self, learner_id, course_id, lesson_id, at):
        self.lessons.add((learner_id, course_id, lesson_id))

    async def add_post_test_pass(self, learner_id, course_id, score, at):
        key = (learner_id, course_id)
        self.passes[key] = max(score, self.passes.get(key, 0.0))
        return self.passes[key]

    async def add_certificate(
        self, certificate_id, code, enrollment, learner, issued_at, training_hours=None
    ):
        self.certificates.append(code)
        self.issued[code] = Certificate(
            certificate_id,
            code,
            enrollment.enrollment_id,
            learner.learner_id,
            enrollment.course_id,
            enrollment.course_title,
            learner.village_code,
        )

    async def get_certificate(self, code):
        return self.issued.get(code)

    async def save_revocation(self, certificate, revoked_by):
        self.issued[certificate.verification_code] = certificate

    async def count_bulk_learners(self, bulk):
        return sum(
            learner.village_code.startswith(bulk.region_code)
            and (not bulk.positions or learner.position in bulk.positions)
            for learner in self.learners.values()
        )

    async def add_bulk_job(self, job_id, bulk, total, created_by):
        self.jobs[job_id] = (bulk, total)

    async def count_version_move(self, move):
        return sum(
            e.course_id == move.course_id
            and e.status in (EnrollmentStatus.ENROLLED, EnrollmentStatus.IN_PROGRESS)
            and e.course_version != move.course_version
            and (move.cohort is None or e.cohort == move.cohort)
            for e in self.enrollments.values()
        )

    async def add_version_move_job(self, job_id, move, total, created_by):
        self.jobs[job_id] = (move, total)
