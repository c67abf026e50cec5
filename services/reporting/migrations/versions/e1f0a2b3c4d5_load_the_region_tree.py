"""load the region tree

The real region list (Kepmendagri 300.2.2-2138/2025) is reference data every report needs, so
migrating a reporting database loads it: the local stack and Kubernetes alike. A later list
is loaded by a later migration (or `lms reporting load-regions`), which updates in place.

Revision ID: e1f0a2b3c4d5
Revises: d8a1faf23f98
Create Date: 2026-11-29 05:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import insert

from reporting.regions_loader import region_rows

revision: str = "e1f0a2b3c4d5"
down_revision: str | None = "d8a1faf23f98"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

regions = sa.table(
    "regions",
    sa.column("code", sa.String),
    sa.column("name", sa.Text),
    sa.column("level", sa.SmallInteger),
    sa.column("parent_code", sa.String),
)


def upgrade() -> None:
    rows = [
        {"code": c, "name": n, "level": level, "parent_code": p} for c, n, level, p in region_rows()
    ]
    statement = insert(regions)
    statement = statement.on_conflict_do_update(
        index_elements=["code"],
        set_={
            "name": statement.excluded.name,
            "level": statement.excluded.level,
            "parent_code": statement.excluded.parent_code,
        },
    )
    bind = op.get_bind()
    for start in range(0, len(rows), 5000):
        bind.execute(statement, rows[start : start + 5000])


def downgrade() -> None:
    op.execute("DELETE FROM regions")
