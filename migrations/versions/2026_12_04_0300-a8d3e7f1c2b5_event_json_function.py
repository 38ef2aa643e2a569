"""itk_event_json(id, event_date): an event's JSON rendered live, for a row with no stored
document. Pages reading documents (lists, OGC items) call it instead of holding the rendering
inline, which PostgreSQL planned on every list page (3-4 ms of a page on PostgreSQL 15);
exports, planned once, keep it inline.

Revision ID: a8d3e7f1c2b5
Revises: f7a2c9e4b1d8
Create Date: 2026-12-04 03:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

from migrations.sql import run_sql

revision: str = "a8d3e7f1c2b5"
down_revision: str | None = "f7a2c9e4b1d8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    run_sql("functions/itk_event_json")


def downgrade() -> None:
    op.execute("DROP FUNCTION itk_event_json(uuid, date)")
