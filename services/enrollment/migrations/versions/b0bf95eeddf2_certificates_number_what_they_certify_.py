"""certificates: number, what they certify as issued, revocation

Revision ID: b0bf95eeddf2
Revises: a993497ad3dc
Create Date: 2026-11-30 00:18:10.777284
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b0bf95eeddf2"
down_revision: str | None = "a993497ad3dc"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "certificates",
        sa.Column("serial", sa.BigInteger(), sa.Identity(always=False), nullable=False),
    )
    op.add_column("certificates", sa.Column("course_version", sa.Integer(), nullable=True))
    op.add_column("certificates", sa.Column("position", sa.String(length=40), nullable=True))
    op.add_column("certificates", sa.Column("village_code", sa.String(length=13), nullable=True))
    op.add_column("certificates", sa.Column("training_hours", sa.Integer(), nullable=True))
    op.add_column(
        "certificates", sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("certificates", sa.Column("revoke_reason", sa.Text(), nullable=True))
    op.add_column("certificates", sa.Column("revoked_by", sa.Text(), nullable=True))
    op.create_index("certificates_learner", "certificates", ["learner_id"], unique=False)
    # existing certificates are numbered in the order the column is filled
    op.create_unique_constraint("certificates_serial_key", "certificates", ["serial"])


def downgrade() -> None:
    op.drop_constraint("certificates_serial_key", "certificates", type_="unique")
    op.drop_index("certificates_learner", table_name="certificates")
    op.drop_column("certificates", "revoked_by")
    op.drop_column("certificates", "revoke_reason")
    op.drop_column("certificates", "revoked_at")
    op.drop_column("certificates", "training_hours")
    op.drop_column("certificates", "village_code")
    op.drop_column("certificates", "position")
    op.drop_column("certificates", "course_version")
    op.drop_column("certificates", "serial")
