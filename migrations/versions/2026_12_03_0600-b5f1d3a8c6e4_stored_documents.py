"""Stored documents: each event's API JSON and CSV line rendered on write (event.doc,
event.doc_csv), and the change feed logs an event once per change (when its document changes)

Every write renders the documents in its own transaction: itk_record_changes (v2) ends with
itk_event_docs; the service's create path and imports write a new event's key, sources and
unit links first and the event with its documents last (itk_event_key_insert v2 keeps a key
that exists). Existing events are rendered here, with the
change-feed and rollup triggers off for that one UPDATE (it changes no event's content).

Revision ID: b5f1d3a8c6e4
Revises: a4e9c2b7d5f3
Create Date: 2026-12-03 06:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrations.sql import run_sql

revision: str = "b5f1d3a8c6e4"
down_revision: str | None = "a4e9c2b7d5f3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUIET = ("event_changes_update", "event_rollup_update", "event_key_update",
         "event_children_follow_date")  # fmt: skip


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '10s'")
    op.add_column("event", sa.Column("doc", sa.Text(), nullable=True))
    op.add_column("event", sa.Column("doc_csv", sa.Text(), nullable=True))
    run_sql("functions/itk_csv_field")
    run_sql("functions/itk_event_docs")
    run_sql("functions/itk_record_changes.v2")
    run_sql("functions/itk_log_event_updates")
    run_sql("functions/itk_event_key_insert.v2")
    for trigger in QUIET:
        op.execute(f"ALTER TABLE event DISABLE TRIGGER {trigger}")
    op.execute("SELECT count(*) FROM (SELECT array_agg(id) AS ids, array_agg(event_date) AS dates"
               " FROM event) e, itk_event_docs(e.ids, e.dates)")  # fmt: skip
    for trigger in QUIET:
        op.execute(f"ALTER TABLE event ENABLE TRIGGER {trigger}")
    op.execute("DROP TRIGGER event_changes_update ON event")
    run_sql("triggers/event_changes_update.v2")


def downgrade() -> None:
    op.execute("DROP TRIGGER event_changes_update ON event")
    run_sql("triggers/event_changes_update")
    op.execute("DROP FUNCTION itk_log_event_updates()")
    run_sql("functions/itk_record_changes")
    run_sql("functions/itk_event_key_insert")
    op.execute("DROP FUNCTION itk_event_docs(uuid[], date[])")
    op.execute("DROP FUNCTION itk_csv_field(text)")
    op.drop_column("event", "doc_csv")
    op.drop_column("event", "doc")
