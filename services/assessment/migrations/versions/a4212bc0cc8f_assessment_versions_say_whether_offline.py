"""assessment versions say whether they may be taken offline

Revision ID: a4212bc0cc8f
Revises: 6c461ec9ffc1
Create Date: 2026-11-30 02:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a4212bc0cc8f"
down_revision: str | None = "6c461ec9ffc1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "assessment_versions",
        sa.Column("allow_offline", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    # each version so far is the assessment's only one: it says what the assessment said
    op.execute(
        """
        UPDATE assessment_versions v SET allow_offline = a.allow_offline
        FROM assessments a WHERE a.assessment_id = v.assessment_id
        """
    )


def downgrade() -> None:
    op.drop_column("assessment_versions", "allow_offline")
