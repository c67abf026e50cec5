"""The reporting database: read models built from events, and the region tree."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Computed,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID

from servicekit.tables import plumbing_tables

metadata = MetaData()
outbox, inbox, idempotency_keys = plumbing_tables(metadata)
NO_COURSE = "00000000-0000-0000-0000-000000000000"
# Rows updated over and over are vacuumed after 2% of them changed (not 20%), and pages keep
# room for updates in place.
HOT = {"autovacuum_vacuum_scale_factor": 0.02, "autovacuum_analyze_scale_factor": 0.02}
# Codes compare byte-wise so that a region prefix is an index range (``LIKE '74.01%'``).
RegionCodeType = String(13, collation="C")
ACTIVE_ON = "(last_activity_at AT TIME ZONE 'UTC')::date"
# What counting a region's active enrollments reads, covered by its village code index.
ACTIVITY_COUNTED = [
    "course_id",
    "cohort",
    "position",
    "enrollment_id",
    "withdrawn",
    "last_active_on",
]

regions = Table(
    "regions",
    metadata,
    Column("code", String(13), primary_key=True),  # "" is the nation
    Column("name", Text, nullable=False),
    Column("level", SmallInteger, nullable=False),
    Column("parent_code", String(13)),
    Index("regions_parent", "parent_code", "code"),
)

learners = Table(
    "learners",
    metadata,
    Column("learner_id", UUID(as_uuid=True), primary_key=True),
    Column("full_name", Text),
    Column("village_code", RegionCodeType),
    Column("position", String(40)),
    Column("registered", Boolean, nullable=False, server_default=text("false")),
    Column("profile_at", DateTime(timezone=True)),
    Column("last_activity_at", DateTime(timezone=True)),
    Index("learners_village", "village_code"),  # not the activity: updates stay in place (HOT)
    postgresql_with={"fillfactor": 80, **HOT},
)

enrollments = Table(
    "enrollments",
    metadata,
    Column("learner_id", UUID(as_uuid=True), primary_key=True),
    Column("course_id", UUID(as_uuid=True), primary_key=True),
    Column("enrollment_id", UUID(as_uuid=True)),
    Column("course_version", Integer),
    Column("course_title", Text),
    Column("cohort", Text, nullable=False, server_default=""),
    Column("village_code", RegionCodeType),
    Column("position", String(40)),
    Column("withdrawn_id", UUID(as_uuid=True)),
    Column("withdrawn_at", DateTime(timezone=True)),
    Column("withdrawn", Boolean, nullable=False, server_default=text("false")),
    Column("lesson_ids", ARRAY(UUID(as_uuid=True)), nullable=False, server_default="{}"),
    Column("lessons_done", Integer, nullable=False, server_default=text("0")),
    Column("pre_test_score", Float),
    Column("pre_test_attempt", Integer),
    Column("post_test_score", Float),
    Column("passed", Boolean, nullable=False, server_default=text("false")),
    Column("completed", Boolean, nullable=False, server_default=text("false")),
    Column("certified", Boolean, nullable=False, server_default=text("false")),
    Column("revoked", Boolean, nullable=False, server_default=text("false")),
    Column("enrolled_at", DateTime(timezone=True)),
    Column("last_activity_at", DateTime(timezone=True)),
    # the latest move to another course version: its enrollment, number (a later one wins)
    # and version
    Column("moved_id", UUID(as_uuid=True)),
    Column("version_move", Integer, nullable=False, server_default=text("0")),
    Column("moved_version", Integer),
    Column("certificate_code", String(16)),
    # The UTC day of the last activity, as the activity buckets count it: a district's or
    # village's active enrollments are counted from the index below alone (ADR 8). It changes
    # once a day at most, so the activity of a day's further lessons still updates the row in
    # place (HOT).
    Column("last_active_on", Date, Computed(ACTIVE_ON, persisted=True)),
    # No index on the course alone: no query reads enrollments by course (a course's report
    # sums buckets and rollups), and each index is one more entry for an update that cannot
    # stay in place.
    Index("enrollments_village_activity", "village_code", postgresql_include=ACTIVITY_COUNTED),
    postgresql_with={"fillfactor": 80, **HOT},
)

courses = Table(
    "courses",
    metadata,
    Column("course_id", UUID(as_uuid=True), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("code", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("lessons", Integer, nullable=False),
    Column("required_lessons", Integer, nullable=False),
    # the version's lessons, to count a learner's progress in the version they follow (null
    # for versions projected before they were kept)
    Column("lesson_ids", ARRAY(UUID(as_uuid=True))),
)

# Counters per region (every level, "" = national), course (NO_COURSE for course-independent
# counts such as registrations), cohort and position; a report sums a handful of rows.
rollups = Table(
    "rollups",
    metadata,
    Column("region_code", RegionCodeType, primary_key=True),
    Column("course_id", UUID(as_uuid=True), primary_key=True),
    Column("cohort", Text, primary_key=True),
    Column("position", String(40), primary_key=True),
    Column("registered", Integer, nullable=False, server_default=text("0")),
    Column("enrolled", Integer, nullable=False, server_default=text("0")),
    Column("withdrawn", Integer, nullable=False, server_default=text("0")),
    Column("completed", Integer, nullable=False, server_default=text("0")),
    Column("passed", Integer, nullable=False, server_default=text("0")),
    Column("certified", Integer, nullable=False, server_default=text("0")),
    Column("pre_test_sum", BigInteger, nullable=False, server_default=text("0")),
    Column("pre_test_count", Integer, nullable=False, server_default=text("0")),
    Column("post_test_sum", BigInteger, nullable=False, server_default=text("0")),
    Column("post_test_count", Integer, nullable=False, server_default=text("0")),
    Column("improvement_sum", BigInteger, nullable=False, server_default=text("0")),
    Column("improvement_count", Integer, nullable=False, server_default=text("0")),
    # took the post-test and has not passed it (yet); certificates revoked (``certified``
    # counts those that still hold)
    Column("failed", Integer, nullable=False, server_default=text("0")),
    Column("revoked", Integer, nullable=False, server_default=text("0")),
    postgresql_with={"fillfactor": 70, **HOT},
)
# Learners (course NO_COURSE) and enrollments whose last activity fell on each day, per nation,
# province and regency and dimensions: "active in the last N days" sums N days of a few rows,
# not the learners. Districts and villages count their learners' rows instead.
activity = Table(
    "activity",
    metadata,
    Column("region_code", RegionCodeType, primary_key=True),
    Column("course_id", UUID(as_uuid=True), primary_key=True),
    Column("cohort", Text, primary_key=True),
    Column("position", String(40), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("learners", Integer, nullable=False, server_default=text("0")),
    Index("activity_recent", "region_code", "day"),  # a window's days, however long the history
    postgresql_with={"fillfactor": 70, **HOT},
)

COUNTERS = [
    c.name
    for c in rollups.columns
    if c.name not in ("region_code", "course_id", "cohort", "position")
]

# Learners' phone and e-mail (from learner-contact-changed, the newest by its own time): shown
# to the supervisors of the learner's region and to admins only, each read logged below (ADR 22).
contacts = Table(
    "contacts",
    metadata,
    Column("learner_id", UUID(as_uuid=True), primary_key=True),
    Column("phone", String(20)),
    Column("email", Text),
    Column("changed_at", DateTime(timezone=True), nullable=False),
)

# Who saw whose contact, when and through which route (UU PDP No. 27/2022): reporting's own
# reads, and enrollment's from learner-contacts-viewed (``event_id``: a redelivered event adds
# no row). Not a projection: a rebuild keeps it, and nothing but a read of contacts writes it.
contact_reads = Table(
    "contact_reads",
    metadata,
    Column("read_id", BigInteger, primary_key=True, autoincrement=True),
    Column("event_id", UUID(as_uuid=True)),  # the read reported by another service's event
    Column("read_at", DateTime(timezone=True), nullable=False),
    Column("viewer", Text, nullable=False),
    Column("viewer_role", String(16), nullable=False),
    Column("viewer_region", String(13)),
    Column("learner_id", UUID(as_uuid=True), nullable=False),
    Column("route", Text, nullable=False),
    Index("contact_reads_time", "read_at", "read_id"),
    Index("contact_reads_learner", "learner_id", "read_at"),
    Index("contact_reads_viewer", "viewer", "read_at"),
    Index("contact_reads_event", "event_id", "learner_id", unique=True),
)
