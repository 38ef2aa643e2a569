"""civilian_fatalities: of an event's fatalities, how many were civilians

The first field added through app/events/fields.py (docs/architecture.md): a column on the
partitioned event table (its partitions follow) and its check, no more civilians than
fatalities.

Revision ID: f3d8b1e5a7c2
Revises: e2c7a9d4f6b1
Create Date: 2026-12-03 03:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f3d8b1e5a7c2"
down_revision: str | None = "e2c7a9d4f6b1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("event", sa.Column("civilian_fatalities", sa.Integer(), nullable=True))
    # NULL passes: unknown civilians, or civilians known and the total not.
    op.create_check_constraint(
        op.f("ck_event_civilian_fatalities"),
        "event",
        "civilian_fatalities >= 0 AND civilian_fatalities <= fatalities",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_event_civilian_fatalities"), "event", type_="check")
    op.drop_column("event", "civilian_fatalities")
