"""certificate codes of enrollments, lesson ids of versions

Revision ID: da231a9ae8ad
Revises: 5e66d1748773
Create Date: 2026-11-30 00:01:42.231192
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "da231a9ae8ad"
down_revision: str | None = "5e66d1748773"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("courses", sa.Column("lesson_ids", postgresql.ARRAY(sa.UUID()), nullable=True))
    op.add_column("enrollments", sa.Column("certificate_code", sa.String(length=16), nullable=True))


def downgrade() -> None:
    op.drop_column("enrollments", "certificate_code")
    op.drop_column("courses", "lesson_ids")
