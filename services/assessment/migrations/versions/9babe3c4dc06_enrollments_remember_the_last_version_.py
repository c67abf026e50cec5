"""enrollments remember the last version move

Revision ID: 9babe3c4dc06
Revises: f313ba126841
Create Date: 2026-11-29 23:38:14.910865
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9babe3c4dc06"
down_revision: str | None = "f313ba126841"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "enrollments",
        sa.Column("version_move", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("enrollments", "version_move")
