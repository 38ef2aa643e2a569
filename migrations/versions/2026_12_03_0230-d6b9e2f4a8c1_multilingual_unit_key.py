"""Unit designations in English, Russian and Ukrainian read as one key ("225 ОШП",
"225-й отдельный штурмовой полк" and "225th Separate Assault Regiment": "225 assault
regiment"); see migrations/unit_keys.py

Revision ID: d6b9e2f4a8c1
Revises: c4f8a2d6e1b3
Create Date: 2026-12-03 02:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrations import name_keys, unit_keys

revision: str = "d6b9e2f4a8c1"
down_revision: str | None = "c4f8a2d6e1b3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _rekey(function: str) -> None:
    """Replace itk_unit_key and recompute the stored unit keys and their trigram index (a
    generated column is only computed when written, so it is dropped and added again)."""
    op.execute("SET LOCAL lock_timeout = '10s'")
    op.drop_index("ix_unit_names_key_trgm", table_name="unit")
    op.drop_column("unit", "names_key")
    op.execute("DROP FUNCTION itk_unit_key(text)")
    op.execute(function)
    op.add_column(
        "unit",
        sa.Column(
            "names_key",
            sa.Text(),
            sa.Computed("itk_unit_keys(name, aliases)", persisted=True),
            nullable=False,
        ),
    )
    op.create_index(
        "ix_unit_names_key_trgm",
        "unit",
        ["names_key"],
        postgresql_using="gin",
        postgresql_ops={"names_key": "gin_trgm_ops"},
    )


def upgrade() -> None:
    _rekey(unit_keys.UNIT_KEY)


def downgrade() -> None:
    _rekey(name_keys.UNIT_KEY)
