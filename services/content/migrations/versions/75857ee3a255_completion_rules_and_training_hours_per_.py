"""completion rules and training hours per version; pre-tests taken

Revision ID: 75857ee3a255
Revises: 9fde8b044ae1
Create Date: 2026-11-29 23:50:43.859818
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "75857ee3a255"
down_revision: str | None = "9fde8b044ae1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pre_tests",
        sa.Column("learner_id", sa.UUID(), nullable=False),
        sa.Column("course_id", sa.UUID(), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("learner_id", "course_id"),
    )
    op.add_column(
        "course_versions",
        sa.Column(
            "pre_test_before_lessons", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
    )
    op.add_column("course_versions", sa.Column("min_post_test_score", sa.Float(), nullable=True))
    op.add_column(
        "course_versions",
        sa.Column(
            "prerequisite_course_ids",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'"),
            nullable=False,
        ),
    )
    op.add_column("course_versions", sa.Column("training_hours", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("course_versions", "training_hours")
    op.drop_column("course_versions", "prerequisite_course_ids")
    op.drop_column("course_versions", "min_post_test_score")
    op.drop_column("course_versions", "pre_test_before_lessons")
    op.drop_table("pre_tests")
