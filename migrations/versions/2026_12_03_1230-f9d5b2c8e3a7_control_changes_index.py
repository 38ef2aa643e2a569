"""The events with a control claim, by date (a partial index): the changes of control the
stats count (kind=control_changes, the summary) are a few of all events.

Revision ID: f9d5b2c8e3a7
Revises: e8c4a1f7d2b5
Create Date: 2026-12-03 12:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f9d5b2c8e3a7"
down_revision: str | None = "e8c4a1f7d2b5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '10s'")
    op.create_index(
        "ix_event_control_date",
        "event",
        ["event_date"],
        postgresql_where=sa.text("control IS NOT NULL"),
    )


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '10s'")
    op.drop_index("ix_event_control_date", table_name="event")
