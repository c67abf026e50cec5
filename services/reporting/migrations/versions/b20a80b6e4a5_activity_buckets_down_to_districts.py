"""activity buckets down to districts

A regency report counted its districts' "active in the last N days" from their learners' and
enrollments' rows, thousands of them on as many heap pages; districts now have per-day buckets
like the nation, provinces and regencies (ADR 8), counted here from the rows they summarise.
Villages keep counting their rows.

The consumers' writes wait while the buckets are counted, so the buckets count every row
committed before and every batch after moves them from there. District buckets left by an
earlier release are replaced. A consumer of the previous release that runs after this migration moves learners'
days without them: run `lms reporting rebuild` once the new release is rolled out.

Revision ID: b20a80b6e4a5
Revises: f2a3b4c5d6e7
Create Date: 2026-11-29 11:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "b20a80b6e4a5"
down_revision: str | None = "f2a3b4c5d6e7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DISTRICT = 8  # length of a district code, 74.01.01
NO_COURSE = "00000000-0000-0000-0000-000000000000"  # a learner's bucket, not an enrollment's


def upgrade() -> None:
    # Blocks the consumers' writes (they lock learners first), not the reports' reads.
    op.execute("LOCK TABLE learners, enrollments, activity IN SHARE ROW EXCLUSIVE MODE")
    op.execute(f"DELETE FROM activity WHERE length(region_code) = {DISTRICT}")
    op.execute(
        "INSERT INTO activity (region_code, course_id, cohort, position, day, learners) "
        f"SELECT left(village_code, {DISTRICT}), '{NO_COURSE}'::uuid, '', coalesce(position, ''), "
        "(last_activity_at AT TIME ZONE 'UTC')::date, count(*) "
        "FROM learners WHERE registered AND village_code IS NOT NULL "
        "AND last_activity_at IS NOT NULL GROUP BY 1, 2, 3, 4, 5"
    )
    op.execute(
        "INSERT INTO activity (region_code, course_id, cohort, position, day, learners) "
        f"SELECT left(village_code, {DISTRICT}), course_id, cohort, coalesce(position, ''), "
        "(last_activity_at AT TIME ZONE 'UTC')::date, count(*) FROM enrollments "
        "WHERE enrollment_id IS NOT NULL AND NOT withdrawn AND village_code IS NOT NULL "
        "AND last_activity_at IS NOT NULL GROUP BY 1, 2, 3, 4, 5"
    )


def downgrade() -> None:
    op.execute(f"DELETE FROM activity WHERE length(region_code) = {DISTRICT}")
