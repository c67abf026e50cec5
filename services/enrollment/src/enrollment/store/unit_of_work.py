"""The enrollment domain's view of its tables inside one transaction (the write side)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import and_, null, or_, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError

from servicekit.clock import Clock
from servicekit.database import Transaction
from servicekit.runner import UnitOfWork

from ..domain import commands
from ..domain.errors import AlreadyEnrolled
from ..domain.model import (
    BulkEnrollment,
    Certificate,
    Cohort,
    CourseVersion,
    Enrollment,
    EnrollmentStatus,
    JobKind,
    JobState,
    Learner,
    Outcome,
    VersionMove,
)
from . import lessons, queries
from .rows import (
    bulk_params,
    cohort_from_row,
    course_from_row,
    course_values,
    enrollment_values,
    learner_from_row,
    learner_values,
    move_params,
    registration_input,
)
from .tables import (
    certificates,
    cohorts,
    courses,
    enrollments,
    job_rows,
    jobs,
    learners,
    lesson_completions,
    post_test_passes,
    pre_tests,
)


class SqlUnitOfWork(UnitOfWork):
    def __init__(self, tx: Transaction, clock: Clock) -> None:
        super().__init__(tx)
        self.clock = clock
        # learners read by ``recall_people`` (and added since), by the places and NIKs asked
        self._people: dict[uuid.UUID, Learner] = {}
        self._people_at: dict[tuple[str, str], dict[uuid.UUID, Learner]] = {}
        self._places: set[tuple[str, str]] = set()
        self._niks: set[str] = set()
        # each enrollment's row as read: saving it unchanged writes nothing
        self._as_read: dict[uuid.UUID, dict[str, Any]] = {}

    def now(self) -> datetime:
        return self.clock()

    # learners
    async def get_learner(self, learner_id: uuid.UUID, *, lock: bool = False) -> Learner | None:
        query = select(learners).where(learners.c.learner_id == learner_id)
        row = (await self.conn.execute(query.with_for_update() if lock else query)).first()
        return learner_from_row(row) if row else None

    async def find_learner_by_nik(self, nik_hash: str) -> Learner | None:
        if nik_hash in self._niks:
            return next((x for x in self._people.values() if x.nik_hash == nik_hash), None)
        row = (
            await self.conn.execute(select(learners).where(learners.c.nik_hash == nik_hash))
        ).first()
        return learner_from_row(row) if row else None

    async def learners_at(self, village_code: str, position: str) -> list[Learner]:
        """The learners of one position in one village (a handful): the candidates an
        import's row may be, compared by natural key in the domain."""
        if (village_code, position) in self._places:
            return [
                x
                for x in self._people_at.get((village_code, position), {}).values()
                if (x.village_code, x.position.value) == (village_code, position)
            ]
        rows = await self.conn.execute(
            select(learners).where(
                learners.c.village_code == village_code, learners.c.position == position
            )
        )
        return [learner_from_row(row) for row in rows]

    async def recall_people(self, places: set[tuple[str, str]], nik_hashes: set[str]) -> None:
        """Read at once the learners of these villages and positions and of these NIKs, for
        ``learners_at`` and ``find_learner_by_nik`` to answer from (with the learners this
        unit of work adds) instead of asking for each row."""
        if not places and not nik_hashes:
            return
        wanted = or_(
            tuple_(learners.c.village_code, learners.c.position).in_(sorted(places)),
            learners.c.nik_hash.in_(sorted(nik_hashes)),
        )
        for row in await self.conn.execute(select(learners).where(wanted)):
            self._recall(learner_from_row(row))
        self._places |= places
        self._niks |= nik_hashes

    def _recall(self, learner: Learner) -> None:
        self._people[learner.learner_id] = learner
        place = (learner.village_code, learner.position.value)
        self._people_at.setdefault(place, {})[learner.learner_id] = learner

    async def add_learner(self, learner: Learner, now: datetime) -> None:
        self._recall(learner)
        await self.conn.execute(
            learners.insert().values(**learner_values(learner), registered_at=now, updated_at=now)
        )

    async def save_learner(self, learner: Learner, now: datetime) -> None:
        await self.conn.execute(
            learners.update()
            .where(learners.c.learner_id == learner.learner_id)
            .values(**learner_values(learner), updated_at=now)
        )

    # catalog
    async def latest_course(self, course_id: uuid.UUID) -> CourseVersion | None:
        row = (
            await self.conn.execute(
                select(courses)
                .where(courses.c.course_id == course_id)
                .order_by(courses.c.version.desc())
                .limit(1)
            )
        ).first()
        return course_from_row(row) if row else None

    async def course(self, course_id: uuid.UUID, version: int) -> CourseVersion | None:
        row = (
            await self.conn.execute(
                select(courses).where(
                    courses.c.course_id == course_id, courses.c.version == version
                )
            )
        ).first()
        return course_from_row(row) if row else None

    async def add_course(self, course: CourseVersion, code: str, published_at: datetime) -> None:
        await self.conn.execute(
            insert(courses)
            .values(**course_values(course), code=code, published_at=published_at)
            .on_conflict_do_nothing()
        )

    async def get_cohort(self, course_id: uuid.UUID, name: str) -> Cohort | None:
        row = (
            await self.conn.execute(
                select(cohorts).where(cohorts.c.course_id == course_id, cohorts.c.name == name)
            )
        ).first()
        return cohort_from_row(row) if row else None

    async def add_cohort(self, cohort: Cohort) -> bool:
        """False when the course already has a cohort of that name."""
        inserted = await self.conn.execute(
            insert(cohorts)
            .values(
                course_id=cohort.course_id,
                name=cohort.name,
                enrollment_opens_at=cohort.enrollment_opens_at,
                enrollment_closes_at=cohort.enrollment_closes_at,
                region_code=cohort.region_code,
                created_at=self.now(),
            )
            .on_conflict_do_nothing()
            .returning(cohorts.c.name)
        )
        return inserted.first() is not None

    # enrollments
    async def get_enrollment(
        self, enrollment_id: uuid.UUID, *, lock: bool = False
    ) -> Enrollment | None:
        query = select(enrollments).where(enrollments.c.enrollment_id == enrollment_id)
        row = (await self.conn.execute(query.with_for_update() if lock else query)).first()
        return await self._hydrate(row) if row else None

    async def active_enrollment(
        self, learner_id: uuid.UUID, course_id: uuid.UUID
    ) -> Enrollment | None:
        row = (
            await self.conn.execute(
                select(enrollments)
                .where(
                    enrollments.c.learner_id == learner_id,
                    enrollments.c.course_id == course_id,
                    enrollments.c.status != EnrollmentStatus.WITHDRAWN.value,
                )
                .with_for_update()
            )
        ).first()
        return await self._hydrate(row) if row else None

    async def enrollments_in_progress(self, course_id: uuid.UUID, version: int) -> list[Enrollment]:
        rows = (
            await self.conn.execute(
                select(enrollments)
                .where(
                    enrollments.c.course_id == course_id,
                    enrollments.c.course_version == version,
                    enrollments.c.status == EnrollmentStatus.IN_PROGRESS.value,
                )
                .with_for_update()
            )
        ).all()
        return [await self._hydrate(row) for row in rows]

    async def add_enrollment(self, enrollment: Enrollment) -> None:
        try:
            async with self.conn.begin_nested():
                await self.conn.execute(
                    enrollments.insert().values(**enrollment_values(enrollment))
                )
        except IntegrityError as exc:
            if "enrollments_one_active" not in str(exc.orig):
                raise
            existing = (
                await self.conn.execute(
                    select(enrollments.c.enrollment_id).where(
                        enrollments.c.learner_id == enrollment.learner_id,
                        enrollments.c.course_id == enrollment.course_id,
                        enrollments.c.status != EnrollmentStatus.WITHDRAWN.value,
                    )
                )
            ).scalar_one_or_none()
            raise AlreadyEnrolled(existing) from exc

    async def save_enrollment(self, enrollment: Enrollment) -> None:
        values = enrollment_values(enrollment)
        if self._as_read.get(enrollment.enrollment_id) == values:
            return  # a lesson done again, or one more of an enrollment in progress
        self._as_read[enrollment.enrollment_id] = values
        await self.conn.execute(
            enrollments.update()
            .where(enrollments.c.enrollment_id == enrollment.enrollment_id)
            .values(**values)
        )

    async def in_progress_of(self, learner_id: uuid.UUID) -> list[Enrollment]:
        rows = (
            await self.conn.execute(
                select(enrollments)
                .where(
                    enrollments.c.learner_id == learner_id,
                    enrollments.c.status == EnrollmentStatus.IN_PROGRESS.value,
                )
                .order_by(enrollments.c.enrollment_id)
                .with_for_update()
            )
        ).all()
        return [await self._hydrate(row) for row in rows]

    async def completed_courses(self, learner_id: uuid.UUID) -> frozenset[uuid.UUID]:
        return frozenset(
            (
                await self.conn.execute(
                    select(enrollments.c.course_id).where(
                        enrollments.c.learner_id == learner_id,
                        enrollments.c.status == EnrollmentStatus.COMPLETED.value,
                    )
                )
            ).scalars()
        )

    async def _hydrate(self, row: Any) -> Enrollment:
        # the learner's progress in the course in one statement (a lesson event reads it)
        lessons, pre_test = await queries.progress_facts(self.conn, row.learner_id, row.course_id)
        enrollment = Enrollment(
            enrollment_id=row.enrollment_id,
            learner_id=row.learner_id,
            course_id=row.course_id,
            course_version=row.course_version,
            course_title=row.course_title,
            status=EnrollmentStatus(row.status),
            enrolled_at=row.enrolled_at,
            cohort=row.cohort,
            completed_lesson_ids=set(lessons),
            post_test_score=row.post_test_score,
            completed_at=row.completed_at,
            withdrawn_at=row.withdrawn_at,
            version_move=row.version_move,
            pre_test_taken=pre_test,
        )
        self._as_read[enrollment.enrollment_id] = enrollment_values(enrollment)
        return enrollment

    # progress facts, kept per learner and course so that they survive any arrival order
    async def add_lesson_completion(
        self, learner_id: uuid.UUID, course_id: uuid.UUID, lesson_id: uuid.UUID, at: datetime
    ) -> None:
        await self.conn.execute(
            insert(lesson_completions)
            .values(
                learner_id=learner_id,
                course_id=course_id,
                lesson_id=lesson_id,
                completed_at=at,
            )
            .on_conflict_do_nothing()
        )

    async def add_lesson_completions(
        self, done: tuple[commands.LessonDone, ...]
    ) -> set[tuple[uuid.UUID, uuid.UUID]]:
        return await lessons.record_lessons(self.conn, done)

    async def add_pre_test(self, learner_id: uuid.UUID, course_id: uuid.UUID, at: datetime) -> None:
        await self.conn.execute(
            insert(pre_tests)
            .values(learner_id=learner_id, course_id=course_id, taken_at=at)
            .on_conflict_do_nothing()
        )

    async def add_post_test_pass(
        self, learner_id: uuid.UUID, course_id: uuid.UUID, score: float, at: datetime
    ) -> float:
        statement = insert(post_test_passes).values(
            learner_id=learner_id, course_id=course_id, score=score, passed_at=at
        )
        statement = statement.on_conflict_do_update(
            index_elements=["learner_id", "course_id"],
            set_={"score": statement.excluded.score, "passed_at": statement.excluded.passed_at},
            where=post_test_passes.c.score < statement.excluded.score,
        )
        await self.conn.execute(statement)
        return float(
            (
                await self.conn.execute(
                    select(post_test_passes.c.score).where(
                        and_(
                            post_test_passes.c.learner_id == learner_id,
                            post_test_passes.c.course_id == course_id,
                        )
                    )
                )
            ).scalar_one()
        )

    async def add_certificate(
        self,
        certificate_id: uuid.UUID,
        code: str,
        enrollment: Enrollment,
        learner: Learner,
        issued_at: datetime,
        training_hours: int | None = None,
    ) -> None:
        await self.conn.execute(
            certificates.insert().values(
                certificate_id=certificate_id,
                verification_code=code,
                enrollment_id=enrollment.enrollment_id,
                learner_id=learner.learner_id,
                full_name=learner.full_name,
                course_id=enrollment.course_id,
                course_title=enrollment.course_title,
                score=enrollment.post_test_score or 0.0,
                issued_at=issued_at,
                course_version=enrollment.course_version,
                position=learner.position.value,
                village_code=learner.village_code,
                training_hours=training_hours,
            )
        )

    async def get_certificate(self, code: str) -> Certificate | None:
        row = (
            await self.conn.execute(
                select(certificates, learners.c.village_code.label("learner_village"))
                .join(learners, learners.c.learner_id == certificates.c.learner_id)
                .where(certificates.c.verification_code == code)
                .with_for_update(of=certificates)
            )
        ).first()
        if row is None:
            return None
        return Certificate(
            certificate_id=row.certificate_id,
            verification_code=row.verification_code,
            enrollment_id=row.enrollment_id,
            learner_id=row.learner_id,
            course_id=row.course_id,
            course_title=row.course_title,
            village_code=row.learner_village,
            revoked_at=row.revoked_at,
            revoke_reason=row.revoke_reason,
        )

    async def save_revocation(self, certificate: Certificate, revoked_by: str) -> None:
        await self.conn.execute(
            certificates.update()
            .where(certificates.c.certificate_id == certificate.certificate_id)
            .values(
                revoked=True,
                revoked_at=certificate.revoked_at,
                revoke_reason=certificate.revoke_reason,
                revoked_by=revoked_by,
            )
        )

    # bulk jobs, run by the workers of ``jobs.py``
    async def count_bulk_learners(self, bulk: BulkEnrollment) -> int:
        return await queries.bulk_learner_count(self.conn, bulk)

    async def add_bulk_job(
        self, job_id: uuid.UUID, bulk: BulkEnrollment, total: int, created_by: str
    ) -> None:
        await self._add_job(
            job_id, JobKind.BULK_ENROLLMENT, bulk.region_code, bulk_params(bulk), total, created_by
        )

    async def count_version_move(self, move: VersionMove) -> int:
        return await queries.version_move_count(self.conn, move)

    async def add_version_move_job(
        self, job_id: uuid.UUID, move: VersionMove, total: int, created_by: str
    ) -> None:
        # a course's learners, wherever they serve: a national job
        await self._add_job(job_id, JobKind.VERSION_MOVE, "", move_params(move), total, created_by)

    async def add_import_job(self, cmd: commands.StartImport) -> None:
        params = {
            "course_id": str(cmd.course_id) if cmd.course_id else None,
            "cohort": cmd.cohort,
            "language": cmd.language,
        }
        skipped = len(cmd.refused)
        await self._add_job(
            cmd.job_id,
            JobKind.LEARNER_IMPORT,
            cmd.region_code,
            params,
            len(cmd.rows) + skipped,
            cmd.requested_by,
            skipped=skipped,
        )
        rows = [
            {"job_id": cmd.job_id, "row_number": number, "input": registration_input(register)}
            for number, register in cmd.rows
        ] + [
            {
                "job_id": cmd.job_id,
                "row_number": refused.row_number,
                "outcome": Outcome.SKIPPED.value,
                "field": refused.field,
                "reason": refused.reason,
            }
            for refused in cmd.refused
        ]
        # one INSERT for the pending rows, one for the refused (their columns differ)
        for same_shape in (rows[: len(cmd.rows)], rows[len(cmd.rows) :]):
            if same_shape:
                await self.conn.execute(job_rows.insert(), same_shape)

    async def _add_job(
        self,
        job_id: uuid.UUID,
        kind: JobKind,
        region_code: str,
        params: dict[str, Any],
        total: int,
        created_by: str,
        skipped: int = 0,
    ) -> None:
        now = self.now()
        await self.conn.execute(
            jobs.insert().values(
                job_id=job_id,
                kind=kind.value,
                params=params,
                state=JobState.PENDING.value,
                region_code=region_code,
                total=total,
                skipped=skipped,
                counts={Outcome.SKIPPED.value: skipped} if skipped else {},
                created_by=created_by,
                created_at=now,
                updated_at=now,
            )
        )
        # wakes a waiting worker at once instead of at its next poll
        await self.conn.execute(text("SELECT pg_notify('lms_jobs', '')"))

    async def job_state(self, job_id: uuid.UUID) -> JobState | None:
        state = (
            await self.conn.execute(
                select(jobs.c.state).where(jobs.c.job_id == job_id).with_for_update()
            )
        ).scalar_one_or_none()
        return JobState(state) if state is not None else None

    async def close_job(self, job_id: uuid.UUID, state: JobState) -> None:
        await self.conn.execute(
            jobs.update()
            .where(jobs.c.job_id == job_id)
            .values(state=state.value, lease_until=None, updated_at=self.now())
        )
        # the uploaded people the job will never reach are not kept
        await self.conn.execute(
            job_rows.update()
            .where(job_rows.c.job_id == job_id, job_rows.c.outcome.is_(None))
            .values(input=null())
        )
