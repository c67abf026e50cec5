"""contact reads reported by enrollment (learner-contacts-viewed): keyed by their event

Revision ID: 73d85ab5d5af
Revises: 6361fbf80516
Create Date: 2026-11-30 05:03:10.679825
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "73d85ab5d5af"
down_revision: str | None = "6361fbf80516"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("contact_reads", sa.Column("event_id", sa.UUID(), nullable=True))
    op.create_index("contact_reads_event", "contact_reads", ["event_id", "learner_id"], unique=True)


def downgrade() -> None:
    op.drop_index("contact_reads_event", table_name="contact_reads")
    op.drop_column("contact_reads", "event_id")
