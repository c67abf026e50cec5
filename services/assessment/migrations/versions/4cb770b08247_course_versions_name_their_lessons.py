"""course versions name their lessons

Revision ID: 4cb770b08247
Revises: 9babe3c4dc06
Create Date: 2026-11-29 23:52:29.784794
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "4cb770b08247"
down_revision: str | None = "9babe3c4dc06"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "course_versions",
        sa.Column(
            "lessons",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'"),
            nullable=False,
        ),
    )


def downgrade() -> None:
    op.drop_column("course_versions", "lessons")
