"""event_change_xact: one row per transaction that logged changes to the change feed. The
data version behind the stats' and tiles' ETags counted the visible changes above the
snapshot's xmin; while any writer stayed open (a long import, an idle session), every stats
and tile request counted every change committed meanwhile (20,000 after one import: 3.7 ms a
version, measured by a review), and read past the rows of an import in progress. It now
counts their transactions: one row per import.

CREATE TRIGGER waits for the writers in flight on event_change to commit, so the backfill
that follows sees every transaction above the xmin that logged changes before the trigger.

Revision ID: d4f8a2c6e1b3
Revises: c3a8e5d1f7b9
Create Date: 2026-12-05 03:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrations.sql import run_sql

revision: str = "d4f8a2c6e1b3"
down_revision: str | None = "c3a8e5d1f7b9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '10s'")
    op.create_table(
        "event_change_xact",
        sa.Column("xid", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("xid", name=op.f("pk_event_change_xact")),
    )
    run_sql("functions/itk_log_change_xact")
    run_sql("triggers/event_change_xact")
    op.execute(
        "INSERT INTO event_change_xact (xid) SELECT DISTINCT xid FROM event_change"
        " WHERE xid >= (pg_snapshot_xmin(pg_current_snapshot())::text)::bigint"
    )


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '10s'")
    op.execute("DROP TRIGGER event_change_xact ON event_change")
    op.execute("DROP FUNCTION itk_log_change_xact()")
    op.drop_table("event_change_xact")
