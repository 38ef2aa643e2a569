"""Per-source figures, the event's estimates and analytic confidence. A source report may
carry what that source claims (fatalities in all, by side and civilians among them, wounded,
captured, and the outcome it reports), as JSON in source_report.figures; the event shows low,
best and high per figure from them (itk_estimates); an event may carry an analyst's
confidence (low, moderate, high), set by `confidence` revisions. The stored documents show
all three, and the CSV lines gain `confidence` and `source_figures` columns (itk_event_docs v4):
existing events are rendered again, with the triggers that follow content off for that one
UPDATE (no content changes).

Revision ID: a1e6c3f8b4d2
Revises: f9d5b2c8e3a7
Create Date: 2026-12-03 13:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from migrations.sql import (
    remove_revision_actions,
    render_documents,
    run_sql,
    set_revision_actions,
)

revision: str = "a1e6c3f8b4d2"
down_revision: str | None = "f9d5b2c8e3a7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIONS = ("create", "update", "status", "source_added", "delete", "restore", "merge",
           "merged_into", "import", "unit_changed", "unmerge", "unmerged", "relation_added",
           "relation_removed")  # fmt: skip
QUIET = ("event_changes_update", "event_rollup_update", "event_key_update",
         "event_children_follow_date", "event_control_claims_update")  # fmt: skip


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '10s'")
    op.add_column("source_report", sa.Column("figures", postgresql.JSONB(), nullable=True))
    op.add_column("event", sa.Column("confidence", sa.Text(), nullable=True))
    op.create_check_constraint(
        op.f("ck_event_confidence"), "event", "confidence IN ('low', 'moderate', 'high')"
    )
    set_revision_actions((*ACTIONS, "confidence"))
    run_sql("functions/itk_estimates")
    render_documents("itk_event_docs.v4", QUIET)


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '10s'")
    remove_revision_actions(("confidence",), kept=ACTIONS)
    op.drop_constraint(op.f("ck_event_confidence"), "event", type_="check")
    op.drop_column("event", "confidence")
    op.drop_column("source_report", "figures")
    render_documents("itk_event_docs.v3", QUIET)
    op.execute("DROP FUNCTION itk_estimates(jsonb, integer, integer)")
