"""enrollments remember the last version move

Revision ID: 9fde8b044ae1
Revises: adaf6f832c6a
Create Date: 2026-11-29 23:37:51.896174
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9fde8b044ae1"
down_revision: str | None = "adaf6f832c6a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "enrollments",
        sa.Column("version_move", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("enrollments", "version_move")
