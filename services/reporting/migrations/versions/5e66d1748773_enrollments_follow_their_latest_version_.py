"""enrollments follow their latest version move

Revision ID: 5e66d1748773
Revises: 5e834fe22e1f
Create Date: 2026-11-29 23:39:04.254858
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5e66d1748773"
down_revision: str | None = "5e834fe22e1f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("enrollments", sa.Column("moved_id", sa.UUID(), nullable=True))
    op.add_column(
        "enrollments",
        sa.Column("version_move", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.add_column("enrollments", sa.Column("moved_version", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("enrollments", "moved_version")
    op.drop_column("enrollments", "version_move")
    op.drop_column("enrollments", "moved_id")
