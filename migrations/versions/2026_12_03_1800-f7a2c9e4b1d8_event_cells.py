"""Map tiles' clusters without reading the events: event_cell keeps live, located event
counts per (Web Mercator cell of zoom 14, status, country, region) with the sums of their
positions, appended by statement-level triggers on event (itk_cells_follow) and folded by
itk_cells_compact(). And places found by box (OGC API's bbox): an index on (lat, lon).

Revision ID: f7a2c9e4b1d8
Revises: e6c1a7d3f9b4
Create Date: 2026-12-03 18:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrations.sql import run_sql

revision: str = "f7a2c9e4b1d8"
down_revision: str | None = "e6c1a7d3f9b4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGGERS = ("event_cells_insert", "event_cells_update", "event_cells_delete")


def upgrade() -> None:
    op.create_table(
        "event_cell",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("cx", sa.Integer(), nullable=False),
        sa.Column("cy", sa.Integer(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("region_code", sa.Text(), nullable=True),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("sum_x", sa.BigInteger(), nullable=False),
        sa.Column("sum_y", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_cell")),
    )
    op.create_index(
        op.f("ix_event_cell_cx_cy"),
        "event_cell",
        ["cx", "cy"],
        unique=False,
        postgresql_include=["status", "country", "region_code", "events", "sum_x", "sum_y"],
    )
    op.create_index(op.f("ix_place_lat_lon"), "place", ["lat", "lon"], unique=False)
    run_sql("functions/itk_mercator_column")
    run_sql("functions/itk_mercator_row")
    run_sql("functions/itk_cells_follow")
    run_sql("functions/itk_cells_compact")
    # Under the table lock, so no write lands between the fill and the triggers.
    op.execute("LOCK TABLE event IN SHARE ROW EXCLUSIVE MODE")
    op.execute(
        "INSERT INTO event_cell (cx, cy, status, country, region_code, events, sum_x, sum_y)"
        " SELECT mx >> 10, my >> 10, status, country, region_code, count(*), sum(mx), sum(my)"
        " FROM (SELECT itk_mercator_column(lon) AS mx, itk_mercator_row(lat) AS my, status,"
        "       country, region_code FROM event WHERE deleted_at IS NULL AND lat IS NOT NULL) d"
        " GROUP BY 1, 2, 3, 4, 5"
    )
    for trigger in TRIGGERS:
        run_sql(f"triggers/{trigger}")


def downgrade() -> None:
    for trigger in TRIGGERS:
        op.execute(f"DROP TRIGGER {trigger} ON event")
    op.execute("DROP FUNCTION itk_cells_compact()")
    op.execute("DROP FUNCTION itk_cells_follow()")
    op.execute("DROP FUNCTION itk_mercator_row(double precision)")
    op.execute("DROP FUNCTION itk_mercator_column(double precision)")
    op.drop_index(op.f("ix_event_cell_cx_cy"), table_name="event_cell")
    op.drop_table("event_cell")
    op.drop_index(op.f("ix_place_lat_lon"), table_name="place")
