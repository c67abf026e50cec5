"""enrollments remember their version moves; versions list their lessons

Revision ID: 551872f9bfdc
Revises: ff9d226d173a
Create Date: 2026-11-29 23:37:20.223168
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "551872f9bfdc"
down_revision: str | None = "ff9d226d173a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # null for versions learnt before lesson lists were kept: their progress counts every lesson
    op.add_column(
        "courses", sa.Column("lesson_ids", postgresql.JSONB(astext_type=sa.Text()), nullable=True)
    )
    op.add_column(
        "enrollments",
        sa.Column("version_move", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("enrollments", "version_move")
    op.drop_column("courses", "lesson_ids")
