"""Control claims: an event may claim who holds the place(s) it names (event.control, JSON;
required of the territorial sub-event types by the service), and control_claim holds each
claim per place, kept by statement-level triggers on event (itk_control_claims), for the
control ledger. The stored documents gain `control` (itk_event_docs v2): existing events are
rendered again, with the change-feed and rollup triggers off for that one UPDATE (it changes
no event's content), as the migration that stored them did.

Revision ID: d7b3f9a2c4e6
Revises: c6a2e8f1b3d9
Create Date: 2026-12-03 10:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from migrations.sql import run_sql

revision: str = "d7b3f9a2c4e6"
down_revision: str | None = "c6a2e8f1b3d9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUIET = ("event_changes_update", "event_rollup_update", "event_key_update",
         "event_children_follow_date")  # fmt: skip
TRIGGERS = ("insert", "update", "delete")


def _render_documents(version: str) -> None:
    run_sql(f"functions/{version}")
    for trigger in QUIET:
        op.execute(f"ALTER TABLE event DISABLE TRIGGER {trigger}")
    op.execute("SELECT count(*) FROM (SELECT array_agg(id) AS ids, array_agg(event_date) AS dates"
               " FROM event) e, itk_event_docs(e.ids, e.dates)")  # fmt: skip
    for trigger in QUIET:
        op.execute(f"ALTER TABLE event ENABLE TRIGGER {trigger}")


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '10s'")
    op.add_column("event", sa.Column("control", postgresql.JSONB(), nullable=True))
    op.create_table(
        "control_claim",
        sa.Column("place_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("event_date", sa.Date(), nullable=False),
        sa.Column("event_date_end", sa.Date(), nullable=False),
        sa.Column("date_precision", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("side", sa.Text(), nullable=False),
        sa.Column("from_side", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.CheckConstraint("outcome IN ('taken', 'held')", name=op.f("ck_control_claim_outcome")),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["event_key.id"],
            name=op.f("fk_control_claim_event_id_event_key"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["place_id"], ["place.id"], name=op.f("fk_control_claim_place_id_place")
        ),
        sa.PrimaryKeyConstraint("place_id", "event_id", name=op.f("pk_control_claim")),
    )
    op.create_index(
        op.f("ix_control_claim_place_id_event_date"), "control_claim", ["place_id", "event_date"]
    )
    run_sql("functions/itk_control_claims")
    for name in TRIGGERS:
        run_sql(f"triggers/event_control_claims_{name}")
    _render_documents("itk_event_docs.v2")


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '10s'")
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER event_control_claims_{name} ON event")
    op.execute("DROP FUNCTION itk_control_claims()")
    op.drop_index(op.f("ix_control_claim_place_id_event_date"), table_name="control_claim")
    op.drop_table("control_claim")
    op.drop_column("event", "control")
    _render_documents("itk_event_docs")
