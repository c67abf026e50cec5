"""enrollments remember the last version move

Revision ID: 9fde8b044ae1
Revises: 0ef7d54a1e19
Create Date: 2026-11-29 23:37:51.896174
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9fde8b044ae1"
down_revision: str | None = "0ef7d54a1e19"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "enrollments",
        sa.Column("version_move", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("enrollments", "version_move")
