"""completion rules, lesson titles and training hours per version; pre-tests taken

Revision ID: a993497ad3dc
Revises: 551872f9bfdc
Create Date: 2026-11-29 23:52:07.445444
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "a993497ad3dc"
down_revision: str | None = "551872f9bfdc"
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
        "courses",
        sa.Column(
            "lesson_titles",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
    )
    op.add_column(
        "courses",
        sa.Column(
            "pre_test_before_lessons", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
    )
    op.add_column("courses", sa.Column("min_post_test_score", sa.Float(), nullable=True))
    op.add_column(
        "courses",
        sa.Column(
            "prerequisite_course_ids",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'"),
            nullable=False,
        ),
    )
    op.add_column("courses", sa.Column("training_hours", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("courses", "training_hours")
    op.drop_column("courses", "prerequisite_course_ids")
    op.drop_column("courses", "min_post_test_score")
    op.drop_column("courses", "pre_test_before_lessons")
    op.drop_column("courses", "lesson_titles")
    op.drop_table("pre_tests")
