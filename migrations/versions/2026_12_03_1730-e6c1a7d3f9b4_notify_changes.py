"""The change feed wakes its listeners: a statement-level trigger on event_change sends a
notification on channel itk_event_changes at commit (itk_notify_changes), so the webhook
worker delivers a change as it commits rather than at its next poll.

Revision ID: e6c1a7d3f9b4
Revises: d4b9f6c2e8a3
Create Date: 2026-12-03 17:30:00+00:00
"""

from collections.abc import Sequence

from alembic import op

from migrations.sql import run_sql

revision: str = "e6c1a7d3f9b4"
down_revision: str | None = "d4b9f6c2e8a3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    run_sql("functions/itk_notify_changes")
    run_sql("triggers/event_change_notify")


def downgrade() -> None:
    op.execute("DROP TRIGGER event_change_notify ON event_change")
    op.execute("DROP FUNCTION itk_notify_changes()")
