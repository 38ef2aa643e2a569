"""The unit key tells a navy from marines and an air force from air assault troops
(itk_unit_key.v2): "naval" and "морськ…" read "naval", marines "naval infantry"; "air assault"
reads "airborne assault" and "air" stays "air"

Revision ID: a4e9c2b7d5f3
Revises: f3d8b1e5a7c2
Create Date: 2026-12-03 03:45:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrations.sql import run_sql

revision: str = "a4e9c2b7d5f3"
down_revision: str | None = "f3d8b1e5a7c2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _rekey(version: str) -> None:
    """Load a version of itk_unit_key and recompute the stored unit keys and their index (a
    generated column is computed only when its row is written)."""
    op.execute("SET LOCAL lock_timeout = '10s'")
    op.drop_index("ix_unit_names_key_trgm", table_name="unit")
    op.drop_column("unit", "names_key")
    run_sql(version)
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
    _rekey("functions/itk_unit_key.v2")


def downgrade() -> None:
    _rekey("functions/itk_unit_key")
