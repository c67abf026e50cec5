"""The assessment database: question banks, attempts, and what it learnt from events."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from servicekit.tables import plumbing_tables

metadata = MetaData()
outbox, inbox, idempotency_keys = plumbing_tables(metadata)

assessments = Table(
    "assessments",
    metadata,
    Column("assessment_id", UUID(as_uuid=True), primary_key=True),
    Column("course_id", UUID(as_uuid=True), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("title", Text, nullable=False),
    Column("pass_score", Float, nullable=False),
    Column("max_attempts", Integer),
    Column("time_limit_seconds", Integer),
    Column("questions_drawn", Integer),
    Column("shuffle_questions", Boolean, nullable=False),
    Column("shuffle_options", Boolean, nullable=False),
    Column("allow_offline", Boolean, nullable=False, server_default=text("false")),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # the published version new attempts draw from; the settings above are its settings
    Column("version", Integer, nullable=False, server_default=text("1")),
    Column("review", String(24), nullable=False, server_default=text("'after_last_attempt'")),
    Index("assessments_course", "course_id", "kind"),
)

# Every version of every assessment: the published ones (each attempt keeps the one it was
# drawn from) and at most one draft after the latest published one.
assessment_versions = Table(
    "assessment_versions",
    metadata,
    Column(
        "assessment_id",
        UUID(as_uuid=True),
        ForeignKey("assessments.assessment_id"),
        primary_key=True,
    ),
    Column("version", Integer, primary_key=True),
    Column("status", String(16), nullable=False),
    Column("title", Text, nullable=False),
    Column("pass_score", Float, nullable=False),
    Column("max_attempts", Integer),
    Column("time_limit_seconds", Integer),
    Column("questions_drawn", Integer),
    Column("shuffle_questions", Boolean, nullable=False),
    Column("shuffle_options", Boolean, nullable=False),
    Column("review", String(24), nullable=False),
    Column("allow_offline", Boolean, nullable=False, server_default=text("false")),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("published_at", DateTime(timezone=True)),
)

# The bank: options carry their correct flag, so this table is never shown to a learner as is.
questions = Table(
    "questions",
    metadata,
    Column("question_id", UUID(as_uuid=True), primary_key=True),
    Column(
        "assessment_id",
        UUID(as_uuid=True),
        ForeignKey("assessments.assessment_id"),
        nullable=False,
    ),
    Column("position", Integer, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("prompt", Text, nullable=False),
    Column("points", Integer, nullable=False),
    Column("options", JSONB, nullable=False),
    Column("answer", Boolean),
    Column("accepted_answers", JSONB, nullable=False),
    Column("match", String(12)),
    Column("version", Integer, nullable=False, server_default=text("1")),
    UniqueConstraint("assessment_id", "version", "position", name="questions_position"),
)

attempts = Table(
    "attempts",
    metadata,
    Column("attempt_id", UUID(as_uuid=True), primary_key=True),
    Column(
        "assessment_id",
        UUID(as_uuid=True),
        ForeignKey("assessments.assessment_id"),
        nullable=False,
    ),
    Column("learner_id", UUID(as_uuid=True), nullable=False),
    Column("course_id", UUID(as_uuid=True), nullable=False),
    Column("village_code", String(13), nullable=False),
    Column("attempt_number", Integer, nullable=False),
    Column("seed", BigInteger, nullable=False),
    Column("paper", JSONB, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True)),
    Column("status", String(16), nullable=False),
    Column("answers", JSONB),
    Column("points", Float),
    Column("max_points", Float),
    Column("score", Float),
    Column("passed", Boolean),
    Column("graded_at", DateTime(timezone=True)),
    Column("assessment_version", Integer, nullable=False, server_default=text("1")),
    Column("offline", Boolean, nullable=False, server_default=text("false")),
    Column("course_version", Integer),
    # the device's clock when the learner finished, and its offset from UTC in minutes
    Column("answered_at", DateTime(timezone=True)),
    Column("answered_utc_offset_minutes", Integer),
    UniqueConstraint("assessment_id", "learner_id", "attempt_number", name="attempts_number"),
    Index(
        "attempts_overdue",
        "expires_at",
        postgresql_where=text("status = 'in_progress' AND expires_at IS NOT NULL"),
    ),
    Index("attempts_learner", "learner_id", "assessment_id"),
)

course_versions = Table(
    "course_versions",
    metadata,
    Column("course_id", UUID(as_uuid=True), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("required_lesson_ids", JSONB, nullable=False),
    # [[lesson id, title], ...] in course order, to name what is left before the post-test
    Column("lessons", JSONB, nullable=False, server_default=text("'[]'")),
)

# One row per enrollment; a withdrawn event may arrive first, so most columns are nullable.
enrollments = Table(
    "enrollments",
    metadata,
    Column("enrollment_id", UUID(as_uuid=True), primary_key=True),
    Column("learner_id", UUID(as_uuid=True), nullable=False),
    Column("course_id", UUID(as_uuid=True), nullable=False),
    Column("course_version", Integer),
    Column("village_code", String(13), nullable=False),
    Column("enrolled_at", DateTime(timezone=True)),
    Column("withdrawn_at", DateTime(timezone=True)),
    # the last move to another version applied here (0: none); a later one wins
    Column("version_move", Integer, nullable=False, server_default=text("0")),
    Index("enrollments_learner_course", "learner_id", "course_id"),
)

lesson_completions = Table(
    "lesson_completions",
    metadata,
    Column("learner_id", UUID(as_uuid=True), primary_key=True),
    Column("course_id", UUID(as_uuid=True), primary_key=True),
    Column("lesson_id", UUID(as_uuid=True), primary_key=True),
    Column("completed_at", DateTime(timezone=True), nullable=False),
)

# More attempts for a learner, or more time on one attempt, granted by an instructor.
grants = Table(
    "grants",
    metadata,
    Column("grant_id", UUID(as_uuid=True), primary_key=True),
    Column("assessment_id", UUID(as_uuid=True), nullable=False),
    Column("learner_id", UUID(as_uuid=True), nullable=False),
    Column("attempt_id", UUID(as_uuid=True)),
    Column("extra_attempts", Integer, nullable=False),
    Column("extra_seconds", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("granted_by", Text, nullable=False),
    Column("granted_at", DateTime(timezone=True), nullable=False),
    Index("grants_learner", "learner_id", "assessment_id"),
)
