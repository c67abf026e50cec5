"""activity buckets down to regencies; room for in-place counter updates

District and village reports now count their own learners' rows for "active in the last N
days", so their per-day buckets go, and the buckets of a region's recent days are found by
their own index however long the history. Rollup, bucket and enrollment pages keep free space
so that incrementing a counter can update the row in place (a HOT update) instead of adding
index entries. For the same reason learners are indexed by village alone: with the last
activity in the index, every lesson completed added an entry to both of the table's indexes.

Revision ID: f2a3b4c5d6e7
Revises: e1f0a2b3c4d5
Create Date: 2026-11-29 06:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "f2a3b4c5d6e7"
down_revision: str | None = "e1f0a2b3c4d5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FILLFACTORS = {"rollups": 70, "activity": 70, "enrollments": 80, "learners": 80}
# Their rows are updated over and over: vacuum them after 2% of rows changed, not 20%, so that
# reading a row does not walk a growing chain of its dead versions.
VACUUM_SCALE = 0.02


def upgrade() -> None:
    op.execute("DELETE FROM activity WHERE length(region_code) > 5")
    op.create_index("activity_recent", "activity", ["region_code", "day"])
    op.drop_index("learners_village_activity", "learners")
    op.create_index("learners_village", "learners", ["village_code"])
    for table, fillfactor in FILLFACTORS.items():
        op.execute(
            f"ALTER TABLE {table} SET (fillfactor = {fillfactor}, "
            f"autovacuum_vacuum_scale_factor = {VACUUM_SCALE}, "
            f"autovacuum_analyze_scale_factor = {VACUUM_SCALE})"
        )


def downgrade() -> None:
    op.drop_index("learners_village", "learners")
    op.create_index("learners_village_activity", "learners", ["village_code", "last_activity_at"])
    op.drop_index("activity_recent", "activity")
    for table in FILLFACTORS:
        op.execute(
            f"ALTER TABLE {table} RESET (fillfactor, autovacuum_vacuum_scale_factor, "
            "autovacuum_analyze_scale_factor)"
        )
    # Rebuild the district and village buckets from the rows they summarise.
    for length in (8, 13):
        op.execute(
            "INSERT INTO activity (region_code, course_id, cohort, position, day, learners) "
            f"SELECT left(village_code, {length}), '00000000-0000-0000-0000-000000000000'::uuid, '', "
            "coalesce(position, ''), (last_activity_at AT TIME ZONE 'UTC')::date, count(*) "
            "FROM learners WHERE registered AND village_code IS NOT NULL "
            "AND last_activity_at IS NOT NULL GROUP BY 1, 2, 3, 4, 5"
        )
        op.execute(
            "INSERT INTO activity (region_code, course_id, cohort, position, day, learners) "
            f"SELECT left(village_code, {length}), course_id, cohort, coalesce(position, ''), "
            "(last_activity_at AT TIME ZONE 'UTC')::date, count(*) FROM enrollments "
            "WHERE enrollment_id IS NOT NULL AND NOT withdrawn AND village_code IS NOT NULL "
            "AND last_activity_at IS NOT NULL GROUP BY 1, 2, 3, 4, 5"
        )
