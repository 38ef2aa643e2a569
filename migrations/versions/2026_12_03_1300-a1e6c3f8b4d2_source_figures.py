"""Per-source figures: a source report may carry what that source claims (fatalities in all,
by side and civilians among them, wounded, captured, and the outcome it reports), as JSON in
source_report.figures. The stored documents show them with each source, and the CSV lines
gain a `source_figures` column (itk_event_docs v4): existing events are rendered again, with
the triggers that follow content off for that one UPDATE (no content changes).

Revision ID: a1e6c3f8b4d2
Revises: f9d5b2c8e3a7
Create Date: 2026-12-03 13:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from migrations.sql import render_documents

revision: str = "a1e6c3f8b4d2"
down_revision: str | None = "f9d5b2c8e3a7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUIET = ("event_changes_update", "event_rollup_update", "event_key_update",
         "event_children_follow_date", "event_control_claims_update")  # fmt: skip


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '10s'")
    op.add_column("source_report", sa.Column("figures", postgresql.JSONB(), nullable=True))
    render_documents("itk_event_docs.v4", QUIET)


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '10s'")
    op.drop_column("source_report", "figures")
    render_documents("itk_event_docs.v3", QUIET)
