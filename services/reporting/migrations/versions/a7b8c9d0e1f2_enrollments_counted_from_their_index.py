"""enrollments counted from their village code index; no course index

A district's or village's active enrollments are counted from an index on the village code
that carries every column the count reads, the last activity as a UTC day among them (a
stored generated column, which changes at most once a day, so that further lessons of the
day still update the row in place). It replaces the plain village code index. The course
index goes: no query reads enrollments by course alone (a course's report sums buckets and
rollups, a filtered district count finds its rows by village code), and every index is one
more entry to write when an update cannot be made in place.

Revision ID: a7b8c9d0e1f2
Revises: f2a3b4c5d6e7
Create Date: 2026-11-29 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a7b8c9d0e1f2"
down_revision: str | None = "f2a3b4c5d6e7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE_ON = "(last_activity_at AT TIME ZONE 'UTC')::date"
COUNTED = ["course_id", "cohort", "position", "enrollment_id", "withdrawn", "last_active_on"]


def upgrade() -> None:
    op.add_column(
        "enrollments",
        sa.Column("last_active_on", sa.Date(), sa.Computed(ACTIVE_ON, persisted=True)),
    )
    op.drop_index("enrollments_village", "enrollments")
    op.drop_index("enrollments_course", "enrollments")
    op.create_index(
        "enrollments_village_activity",
        "enrollments",
        ["village_code"],
        postgresql_include=COUNTED,
    )


def downgrade() -> None:
    op.drop_index("enrollments_village_activity", "enrollments")
    op.create_index("enrollments_village", "enrollments", ["village_code"])
    op.create_index("enrollments_course", "enrollments", ["course_id"])
    op.drop_column("enrollments", "last_active_on")
