"""The enrollment database: learners, the course catalog it has learnt, enrollments, progress."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from servicekit.tables import plumbing_tables

metadata = MetaData()
outbox, inbox, idempotency_keys = plumbing_tables(metadata)

learners = Table(
    "learners",
    metadata,
    Column("learner_id", UUID(as_uuid=True), primary_key=True),
    Column("full_name", Text, nullable=False),
    Column("position", String(40), nullable=False),
    Column("village_code", String(13), nullable=False),
    Column("phone", String(20)),
    Column("email", Text),
    Column("nik_hash", String(64), unique=True),
    Column("registered_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("learners_village_code", "village_code", "learner_id"),
    Index("learners_position", "position"),
)

courses = Table(
    "courses",
    metadata,
    Column("course_id", UUID(as_uuid=True), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("code", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("required_lesson_ids", JSONB, nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False),
    # every lesson of the version (a learner's progress counts only these); null for versions
    # learnt before the lists were kept
    Column("lesson_ids", JSONB),
    # lesson id -> title, to name what a learner still has to do
    Column("lesson_titles", JSONB, nullable=False, server_default=text("'{}'")),
    # completion rules (ADR 17) and the training hours (jam pelajaran)
    Column("pre_test_before_lessons", Boolean, nullable=False, server_default=text("false")),
    Column("min_post_test_score", Float),
    Column("prerequisite_course_ids", JSONB, nullable=False, server_default=text("'[]'")),
    Column("training_hours", Integer),
)

enrollments = Table(
    "enrollments",
    metadata,
    Column("enrollment_id", UUID(as_uuid=True), primary_key=True),
    Column("learner_id", UUID(as_uuid=True), ForeignKey("learners.learner_id"), nullable=False),
    Column("course_id", UUID(as_uuid=True), nullable=False),
    Column("course_version", Integer, nullable=False),
    Column("course_title", Text, nullable=False),
    Column("cohort", Text),
    Column("status", String(16), nullable=False),
    Column("post_test_score", Float),
    Column("enrolled_at", DateTime(timezone=True), nullable=False),
    Column("completed_at", DateTime(timezone=True)),
    Column("withdrawn_at", DateTime(timezone=True)),
    # how many times the learner was moved to another version: orders the moves' events
    Column("version_move", Integer, nullable=False, server_default=text("0")),
    Index(
        "enrollments_one_active",
        "learner_id",
        "course_id",
        unique=True,
        postgresql_where=text("status <> 'withdrawn'"),
    ),
    Index("enrollments_course", "course_id", "status"),
)

lesson_completions = Table(
    "lesson_completions",
    metadata,
    Column("learner_id", UUID(as_uuid=True), primary_key=True),
    Column("course_id", UUID(as_uuid=True), primary_key=True),
    Column("lesson_id", UUID(as_uuid=True), primary_key=True),
    Column("completed_at", DateTime(timezone=True), nullable=False),
)

post_test_passes = Table(
    "post_test_passes",
    metadata,
    Column("learner_id", UUID(as_uuid=True), primary_key=True),
    Column("course_id", UUID(as_uuid=True), primary_key=True),
    Column("score", Float, nullable=False),
    Column("passed_at", DateTime(timezone=True), nullable=False),
)

# Pre-tests taken (passed or not), per learner and course: a version may ask for one before
# its lessons count.
pre_tests = Table(
    "pre_tests",
    metadata,
    Column("learner_id", UUID(as_uuid=True), primary_key=True),
    Column("course_id", UUID(as_uuid=True), primary_key=True),
    Column("taken_at", DateTime(timezone=True), nullable=False),
)

certificates = Table(
    "certificates",
    metadata,
    Column("certificate_id", UUID(as_uuid=True), primary_key=True),
    Column("verification_code", String(16), nullable=False, unique=True),
    Column(
        "enrollment_id",
        UUID(as_uuid=True),
        ForeignKey("enrollments.enrollment_id"),
        nullable=False,
        unique=True,
    ),
    Column("learner_id", UUID(as_uuid=True), nullable=False),
    Column("full_name", Text, nullable=False),
    Column("course_id", UUID(as_uuid=True), nullable=False),
    Column("course_title", Text, nullable=False),
    Column("score", Float, nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("revoked", Boolean, nullable=False, server_default=text("false")),
    # the running number printed on it (with the deployment's prefix and the year)
    Column("serial", BigInteger, Identity(), nullable=False, unique=True),
    # what it certifies, as it was when issued (null for certificates issued before these)
    Column("course_version", Integer),
    Column("position", String(40)),
    Column("village_code", String(13)),
    Column("training_hours", Integer),
    Column("revoked_at", DateTime(timezone=True)),
    Column("revoke_reason", Text),
    Column("revoked_by", Text),
    Index("certificates_learner", "learner_id"),
)

cohorts = Table(
    "cohorts",
    metadata,
    Column("course_id", UUID(as_uuid=True), primary_key=True),
    Column("name", Text, primary_key=True),
    Column("enrollment_opens_at", DateTime(timezone=True)),
    Column("enrollment_closes_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # a regional intake admits only learners of that region; NULL admits the whole country
    Column("region_code", String(13)),
)

jobs = Table(
    "jobs",
    metadata,
    Column("job_id", UUID(as_uuid=True), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("params", JSONB, nullable=False),
    Column("state", String(16), nullable=False),
    Column("total", Integer, nullable=False, server_default=text("0")),
    Column("done", Integer, nullable=False, server_default=text("0")),
    Column("skipped", Integer, nullable=False, server_default=text("0")),
    Column("failed", Integer, nullable=False, server_default=text("0")),
    Column("cursor", JSONB),
    Column("error", Text),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("lease_until", DateTime(timezone=True)),
    # the region the job acts on: who may list, read and cancel it (``""`` the whole country)
    Column("region_code", String(13), nullable=False, server_default=text("''")),
    # outcome -> rows so far (registered, already_registered, enrolled, ...)
    Column("counts", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Index("jobs_claimable", "state", "lease_until"),
    Index("jobs_listed", "created_at", "job_id"),
)

# One row a job acts on: an uploaded row (its number in the file, the header being row 1) or
# a learner a bulk job picked (numbered in the order it picked them). ``outcome`` is NULL
# until the row is done; ``input`` is an import row's validated learner (NIK only as its HMAC),
# kept only until the row is done or its job cancelled.
job_rows = Table(
    "job_rows",
    metadata,
    Column("job_id", UUID(as_uuid=True), ForeignKey("jobs.job_id"), primary_key=True),
    Column("row_number", Integer, primary_key=True),
    Column("input", JSONB),
    Column("outcome", String(24)),
    Column("enrollment", String(24)),
    Column("learner_id", UUID(as_uuid=True)),
    Column("field", Text),
    Column("reason", Text),
)
