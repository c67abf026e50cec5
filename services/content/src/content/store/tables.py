"""The content database: courses and their versions, attachments, enrollments it has learnt,
lesson progress and the receipts of offline syncs."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
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

courses = Table(
    "courses",
    metadata,
    Column("course_id", UUID(as_uuid=True), primary_key=True),
    Column("code", Text, nullable=False, unique=True),
    Column("latest_version", Integer, nullable=False),
    Column("published_version", Integer),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

course_versions = Table(
    "course_versions",
    metadata,
    Column("course_id", UUID(as_uuid=True), ForeignKey("courses.course_id"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("status", String(16), nullable=False),
    Column("title", Text, nullable=False),
    Column("description", Text),
    Column("competency_area", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("published_at", DateTime(timezone=True)),
    # completion rules (ADR 17) and the training hours (jam pelajaran) of the version
    Column("pre_test_before_lessons", Boolean, nullable=False, server_default=text("false")),
    Column("min_post_test_score", Float),
    Column("prerequisite_course_ids", JSONB, nullable=False, server_default=text("'[]'")),
    Column("training_hours", Integer),
)

modules = Table(
    "modules",
    metadata,
    Column("course_id", UUID(as_uuid=True), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("module_id", UUID(as_uuid=True), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("title", Text, nullable=False),
    ForeignKeyConstraint(
        ["course_id", "version"],
        ["course_versions.course_id", "course_versions.version"],
        ondelete="CASCADE",
    ),
)

lessons = Table(
    "lessons",
    metadata,
    Column("course_id", UUID(as_uuid=True), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("lesson_id", UUID(as_uuid=True), primary_key=True),
    Column("module_id", UUID(as_uuid=True), nullable=False),
    Column("position", Integer, nullable=False),
    Column("title", Text, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("required", Boolean, nullable=False),
    Column("body", Text),
    Column("url", Text),
    Column("duration_seconds", Integer),
    Column("attachment_id", UUID(as_uuid=True)),
    ForeignKeyConstraint(
        ["course_id", "version"],
        ["course_versions.course_id", "course_versions.version"],
        ondelete="CASCADE",
    ),
    Index("lessons_of_course", "course_id", "lesson_id"),
)

attachments = Table(
    "attachments",
    metadata,
    Column("attachment_id", UUID(as_uuid=True), primary_key=True),
    Column("course_id", UUID(as_uuid=True), ForeignKey("courses.course_id"), nullable=False),
    Column("filename", Text, nullable=False),
    Column("media_type", Text, nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("attachments_course", "course_id"),
)

# Blobs apart from their metadata (attachments, and built packages); stored uncompressed (see
# the migration) so that a range request reads only the slices it asks for.
attachment_blobs = Table(
    "attachment_blobs",
    metadata,
    Column("blob_key", Text, primary_key=True),
    Column("data", LargeBinary, nullable=False),
)

# Offline packages once zipped: the hash of a package's manifest -> its bytes in the blob store
packages = Table(
    "packages",
    metadata,
    Column("package_key", String(64), primary_key=True),
    Column("course_id", UUID(as_uuid=True), nullable=False),
    Column("version", Integer, nullable=False),
    Column("scope", String(16), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("content_bytes", BigInteger, nullable=False),
    Column("built_at", DateTime(timezone=True), nullable=False),
    Index("packages_course", "course_id", "version"),
)

enrollments = Table(
    "enrollments",
    metadata,
    Column("enrollment_id", UUID(as_uuid=True), primary_key=True),
    Column("learner_id", UUID(as_uuid=True), nullable=False),
    Column("course_id", UUID(as_uuid=True), nullable=False),
    # unknown while only the withdrawal has arrived (events may come in any order)
    Column("course_version", Integer),
    Column("village_code", String(13), nullable=False),
    Column("enrolled_at", DateTime(timezone=True)),
    Column("withdrawn_at", DateTime(timezone=True)),
    # the last move to another version applied here (0: none); a later one wins
    Column("version_move", Integer, nullable=False, server_default=text("0")),
    Index(
        "enrollments_active",
        "learner_id",
        "course_id",
        postgresql_where=text("withdrawn_at IS NULL"),
    ),
    Index("enrollments_learner", "learner_id", "course_id"),
)

lesson_progress = Table(
    "lesson_progress",
    metadata,
    Column("learner_id", UUID(as_uuid=True), primary_key=True),
    Column("course_id", UUID(as_uuid=True), primary_key=True),
    Column("lesson_id", UUID(as_uuid=True), primary_key=True),
    Column("course_version", Integer, nullable=False),
    Column("completed_at", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("offline", Boolean, nullable=False, server_default=text("false")),
)

# Learners who took a course's pre-test (any result), learnt from passed/failed events: a
# version with ``pre_test_before_lessons`` counts lessons only after it.
pre_tests = Table(
    "pre_tests",
    metadata,
    Column("learner_id", UUID(as_uuid=True), primary_key=True),
    Column("course_id", UUID(as_uuid=True), primary_key=True),
    Column("taken_at", DateTime(timezone=True), nullable=False),
)

sync_receipts = Table(
    "sync_receipts",
    metadata,
    Column("learner_id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", String(100), primary_key=True),
    Column("course_id", UUID(as_uuid=True), nullable=False),
    Column("lesson_id", UUID(as_uuid=True), nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)
