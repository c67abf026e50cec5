"""the latest version move told per enrollment

Revision ID: 2187b4c1050a
Revises: dd35879015fc
Create Date: 2026-11-29 23:38:34.298057
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2187b4c1050a"
down_revision: str | None = "dd35879015fc"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "version_moves",
        sa.Column("enrollment_id", sa.UUID(), nullable=False),
        sa.Column("move_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("enrollment_id"),
    )


def downgrade() -> None:
    op.drop_table("version_moves")
