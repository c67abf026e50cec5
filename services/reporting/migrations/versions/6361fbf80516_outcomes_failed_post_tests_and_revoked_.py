"""outcomes: failed post-tests and revoked certificates counted

Revision ID: 6361fbf80516
Revises: da231a9ae8ad
Create Date: 2026-11-30 00:11:27.191370
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "6361fbf80516"
down_revision: str | None = "da231a9ae8ad"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The learners counted so far who took the post-test without passing it, at every region level
# (a rollup row exists for each of their keys: their enrollment is counted there already).
BACKFILL_FAILED = """
WITH failed AS (
    SELECT left(village_code, level) AS region_code, course_id, cohort,
           coalesce(position, '') AS position, count(*) AS n
    FROM enrollments CROSS JOIN unnest(ARRAY[0, 2, 5, 8, 13]) AS level
    WHERE enrollment_id IS NOT NULL AND NOT withdrawn AND village_code IS NOT NULL
      AND post_test_score IS NOT NULL AND NOT passed
    GROUP BY 1, 2, 3, 4
)
UPDATE rollups r SET failed = f.n
FROM failed f
WHERE (r.region_code, r.course_id, r.cohort, r.position)
    = (f.region_code, f.course_id, f.cohort, f.position)
"""


def upgrade() -> None:
    op.add_column(
        "enrollments",
        sa.Column("revoked", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.add_column(
        "rollups", sa.Column("failed", sa.Integer(), server_default=sa.text("0"), nullable=False)
    )
    op.add_column(
        "rollups", sa.Column("revoked", sa.Integer(), server_default=sa.text("0"), nullable=False)
    )
    op.execute(BACKFILL_FAILED)


def downgrade() -> None:
    op.drop_column("rollups", "revoked")
    op.drop_column("rollups", "failed")
    op.drop_column("enrollments", "revoked")
