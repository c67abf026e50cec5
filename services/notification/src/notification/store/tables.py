"""The notification database: contacts, enrollments it has learnt, inbox, deliveries, schedule."""

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from servicekit.tables import plumbing_tables

metadata = MetaData()
outbox, inbox, idempotency_keys = plumbing_tables(metadata)

# Contact details arrive only in learner-contact-changed; this service and enrollment are the
# only places that keep them.
learners = Table(
    "learners",
    metadata,
    Column("learner_id", UUID(as_uuid=True), primary_key=True),
    Column("full_name", Text),
    Column("village_code", String(13), nullable=False),
    Column("phone", String(20)),
    Column("email", Text),
    Column("last_activity_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("learners_inactive", "last_activity_at", "learner_id"),
    Index("learners_village_code", "village_code"),
)

enrollments = Table(
    "enrollments",
    metadata,
    Column("enrollment_id", UUID(as_uuid=True), primary_key=True),
    Column("learner_id", UUID(as_uuid=True), nullable=False),
    Column("course_id", UUID(as_uuid=True), nullable=False),
    Column("course_title", Text, nullable=False),
    Column("starts_on", DateTime(timezone=True)),
    Column("state", String(16), nullable=False),
    Column("enrolled_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("enrollments_learner", "learner_id", "course_id"),
    Index("enrollments_active", "learner_id", postgresql_where=text("state = 'active'")),
)

# The latest move of each enrollment to another course version that was told to its learner.
version_moves = Table(
    "version_moves",
    metadata,
    Column("enrollment_id", UUID(as_uuid=True), primary_key=True),
    Column("move_number", Integer, nullable=False),
)

preferences = Table(
    "preferences",
    metadata,
    Column("learner_id", UUID(as_uuid=True), primary_key=True),
    Column("email", Boolean, nullable=False),
    Column("sms", Boolean, nullable=False),
    Column("whatsapp", Boolean, nullable=False),
    Column("reminders", Boolean, nullable=False),
    Column("quiet_start", Time),
    Column("quiet_end", Time),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# In-app inbox: learner messages (learner_id) and supervisor digests (region_code).
messages = Table(
    "messages",
    metadata,
    Column("message_id", UUID(as_uuid=True), primary_key=True),
    Column("event_id", UUID(as_uuid=True), nullable=False),
    Column("channel", String(16), nullable=False, server_default=text("'inbox'")),
    Column("event_type", Text, nullable=False),
    Column("learner_id", UUID(as_uuid=True)),
    Column("region_code", String(13)),
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("read_at", DateTime(timezone=True)),
    UniqueConstraint("event_id", "channel", name="messages_once_per_event_and_channel"),
    Index("messages_learner", "learner_id", "created_at", "message_id"),
    Index("messages_region", "region_code", "created_at", "message_id"),
    Index("messages_learner_unread", "learner_id", postgresql_where=text("read_at IS NULL")),
)

# Outbound channels: one row per (event, channel), worked off by the delivery worker.
deliveries = Table(
    "deliveries",
    metadata,
    Column("delivery_id", UUID(as_uuid=True), primary_key=True),
    Column("event_id", UUID(as_uuid=True), nullable=False),
    Column("event_type", Text, nullable=False),
    Column("channel", String(16), nullable=False),
    # a learner's message goes to their address; a supervisor's digest to ``address``
    Column("learner_id", UUID(as_uuid=True)),
    Column("address", Text),
    Column("subject", Text, nullable=False),
    Column("body_text", Text, nullable=False),
    Column("body_html", Text),
    Column("state", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    UniqueConstraint("event_id", "channel", name="deliveries_once_per_event_and_channel"),
    Index(
        "deliveries_due",
        "channel",
        "next_attempt_at",
        postgresql_where=text("state = 'pending'"),
    ),
    Index("deliveries_state", "state", "created_at", "delivery_id"),
)

# One row per scheduled run (reminders of a period, digest of a week): the primary key makes
# each run happen once across restarts and replicas; the cursor lets another replica resume.
schedule_runs = Table(
    "schedule_runs",
    metadata,
    Column("kind", String(32), primary_key=True),
    Column("period", String(32), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("cursor", JSONB),
    Column("items", Integer, nullable=False, server_default=text("0")),
    Column("lease_until", DateTime(timezone=True)),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
)

# "Message the learners who ...": one row per request (a job), one per learner it reaches. The
# recipients' primary key makes a learner listed twice, or a request resolved again, one
# message; each message's event id is derived from (broadcast, learner), so the inbox and
# delivery keys hold even if the job is resumed after a crash.
broadcasts = Table(
    "broadcasts",
    metadata,
    Column("broadcast_id", UUID(as_uuid=True), primary_key=True),
    Column("sender", Text, nullable=False),
    Column("region_code", String(13), nullable=False),
    Column("course_id", UUID(as_uuid=True)),
    Column("inactive_days", Integer),
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("total", Integer, nullable=False),
    Column("sent", Integer, nullable=False, server_default=text("0")),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Index("broadcasts_running", "created_at", postgresql_where=text("state = 'running'")),
    Index("broadcasts_region", "region_code", "created_at", "broadcast_id"),
)

broadcast_recipients = Table(
    "broadcast_recipients",
    metadata,
    Column("broadcast_id", UUID(as_uuid=True), primary_key=True),
    Column("learner_id", UUID(as_uuid=True), primary_key=True),
    Column("sent_at", DateTime(timezone=True)),
    Index(
        "broadcast_recipients_pending",
        "broadcast_id",
        "learner_id",
        postgresql_where=text("sent_at IS NULL"),
    ),
)

# Supervisors who want their region's digest by e-mail as well as in the inbox.
digest_subscribers = Table(
    "digest_subscribers",
    metadata,
    Column("subject", Text, primary_key=True),
    Column("region_code", String(13), nullable=False),
    Column("email", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("digest_subscribers_region", "region_code"),
)
