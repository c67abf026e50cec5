"""assessment versions, attempts keep theirs, grants

Revision ID: 6c461ec9ffc1
Revises: 4cb770b08247
Create Date: 2026-11-30 00:26:35.422253
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "6c461ec9ffc1"
down_revision: str | None = "4cb770b08247"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "grants",
        sa.Column("grant_id", sa.UUID(), nullable=False),
        sa.Column("assessment_id", sa.UUID(), nullable=False),
        sa.Column("learner_id", sa.UUID(), nullable=False),
        sa.Column("attempt_id", sa.UUID(), nullable=True),
        sa.Column("extra_attempts", sa.Integer(), nullable=False),
        sa.Column("extra_seconds", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("granted_by", sa.Text(), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("grant_id"),
    )
    op.create_index("grants_learner", "grants", ["learner_id", "assessment_id"], unique=False)
    op.create_table(
        "assessment_versions",
        sa.Column("assessment_id", sa.UUID(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("pass_score", sa.Float(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=True),
        sa.Column("time_limit_seconds", sa.Integer(), nullable=True),
        sa.Column("questions_drawn", sa.Integer(), nullable=True),
        sa.Column("shuffle_questions", sa.Boolean(), nullable=False),
        sa.Column("shuffle_options", sa.Boolean(), nullable=False),
        sa.Column("review", sa.String(length=24), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessments.assessment_id"],
        ),
        sa.PrimaryKeyConstraint("assessment_id", "version"),
    )
    op.add_column(
        "assessments",
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
    )
    op.add_column(
        "assessments",
        sa.Column(
            "review",
            sa.String(length=24),
            server_default=sa.text("'after_last_attempt'"),
            nullable=False,
        ),
    )
    op.add_column(
        "attempts",
        sa.Column("assessment_version", sa.Integer(), server_default=sa.text("1"), nullable=False),
    )
    op.add_column(
        "questions", sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False)
    )
    op.drop_constraint(op.f("questions_position"), "questions", type_="unique")
    op.create_unique_constraint(
        "questions_position", "questions", ["assessment_id", "version", "position"]
    )
    # every assessment so far is its own version 1, published when it was created
    op.execute(
        """
        INSERT INTO assessment_versions
            (assessment_id, version, status, title, pass_score, max_attempts,
             time_limit_seconds, questions_drawn, shuffle_questions, shuffle_options, review,
             created_by, created_at, published_at)
        SELECT assessment_id, 1, 'published', title, pass_score, max_attempts,
               time_limit_seconds, questions_drawn, shuffle_questions, shuffle_options, review,
               created_by, created_at, created_at
        FROM assessments
        """
    )


def downgrade() -> None:
    op.drop_constraint("questions_position", "questions", type_="unique")
    op.create_unique_constraint(
        op.f("questions_position"),
        "questions",
        ["assessment_id", "position"],
        postgresql_nulls_not_distinct=False,
    )
    op.drop_column("questions", "version")
    op.drop_column("attempts", "assessment_version")
    op.drop_column("assessments", "review")
    op.drop_column("assessments", "version")
    op.drop_table("assessment_versions")
    op.drop_index("grants_learner", table_name="grants")
    op.drop_table("grants")
