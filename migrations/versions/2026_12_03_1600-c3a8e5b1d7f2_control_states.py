"""The control map's states, kept: control_state holds, per basis and place, who holds the
place from each of its claim dates to the next, with the place's GeoJSON Feature rendered
(itk_control_states), replaced by statement-level triggers on control_claim and on place
whenever a place's claims or its gazetteer entry change. The map of a day is then one GiST
scan of the states whose days hold it. Existing claims get their states here.

Revision ID: c3a8e5b1d7f2
Revises: b2f7d4a9c1e6
Create Date: 2026-12-03 16:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from migrations.sql import run_sql

revision: str = "c3a8e5b1d7f2"
down_revision: str | None = "b2f7d4a9c1e6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGGERS = (("control_claim_states_insert", "control_claim"),
            ("control_claim_states_delete", "control_claim"),
            ("place_control_states_update", "place"))  # fmt: skip


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '10s'")
    op.create_table(
        "control_state",
        sa.Column("basis", sa.Text(), nullable=False),
        sa.Column("place_id", sa.Uuid(), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("valid", postgresql.DATERANGE(), nullable=False),
        sa.Column("lon", sa.Double(), nullable=False),
        sa.Column("lat", sa.Double(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("region_code", sa.Text(), nullable=True),
        sa.Column("feature", sa.Text(), nullable=False),
        sa.CheckConstraint("basis IN ('claims', 'verified')", name=op.f("ck_control_state_basis")),
        sa.ForeignKeyConstraint(
            ["place_id"],
            ["place.id"],
            name=op.f("fk_control_state_place_id_place"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("basis", "place_id", "since", name=op.f("pk_control_state")),
    )
    op.create_index(
        "ix_control_state_basis_valid",
        "control_state",
        ["basis", "valid"],
        postgresql_using="gist",
    )
    run_sql("functions/itk_control_states")
    run_sql("functions/itk_control_states_follow")
    for trigger, _ in TRIGGERS:
        run_sql(f"triggers/{trigger}")
    op.execute("SELECT itk_control_states(ARRAY(SELECT DISTINCT place_id FROM control_claim))")


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '10s'")
    for trigger, table in TRIGGERS:
        op.execute(f"DROP TRIGGER {trigger} ON {table}")
    op.execute("DROP FUNCTION itk_control_states_follow()")
    op.execute("DROP FUNCTION itk_control_states(uuid[])")
    op.drop_index("ix_control_state_basis_valid", table_name="control_state")
    op.drop_table("control_state")
