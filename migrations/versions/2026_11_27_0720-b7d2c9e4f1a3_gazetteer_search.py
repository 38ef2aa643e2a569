"""gazetteer search: name keys for places, units, regions and event locations; region aliases

Revision ID: b7d2c9e4f1a3
Revises: a143cca69151
Create Date: 2026-11-27 07:20:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrations.name_keys import DROP_FUNCTIONS, FUNCTIONS
from migrations.regions import region_aliases

revision: str = "b7d2c9e4f1a3"
down_revision: str | None = "a143cca69151"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENERATED = [
    ("region", "names_key", "itk_names_key(name, aliases)"),
    ("place", "names_key", "itk_names_key(name, alt_names)"),
    ("unit", "names_key", "itk_unit_keys(name, aliases)"),
    ("event", "location_key", "itk_name_key(location_name)"),
]
TRGM_INDEXES = [
    ("ix_place_names_key_trgm", "place", "names_key"),
    ("ix_unit_names_key_trgm", "unit", "names_key"),
    ("ix_event_location_key_trgm", "event", "location_key"),
]


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '10s'")
    for function in FUNCTIONS:
        op.execute(function)
    for table, column, expression in GENERATED:
        op.add_column(
            table,
            sa.Column(
                column,
                sa.Text(),
                sa.Computed(expression, persisted=True),
                nullable=table in ("event",),
            ),
        )
    for name, table, column in TRGM_INDEXES:
        op.create_index(
            name,
            table,
            [column],
            postgresql_using="gin",
            postgresql_ops={column: "gin_trgm_ops"},
        )
    region = sa.table("region", sa.column("code", sa.Text), sa.column("aliases"))
    for code, aliases in region_aliases().items():
        op.execute(
            region.update()
            .where(region.c.code == code)
            .values(aliases=sa.cast(aliases, sa.dialects.postgresql.ARRAY(sa.Text)))
        )


def downgrade() -> None:
    op.execute("UPDATE region SET aliases = '{}'")
    for name, table, _ in TRGM_INDEXES:
        op.drop_index(name, table_name=table)
    for table, column, _ in GENERATED:
        op.drop_column(table, column)
    for statement in DROP_FUNCTIONS:
        op.execute(statement)
