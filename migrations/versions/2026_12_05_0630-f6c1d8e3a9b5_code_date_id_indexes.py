"""The region's and the country's indexes take the event's id after its date: (region_code,
event_date, id) and (country, event_date, id), the full order of a page by date (the id breaks
ties), as the (event_date, id) index has it. A page of one region or country then walks its
index without sorting, so PostgreSQL's one plan for such a page (repository.one_plan_fits)
walks it for any code, rather than every event by date, filtered.

Revision ID: f6c1d8e3a9b5
Revises: e5b9c3d7f2a4
Create Date: 2026-12-05 06:30:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "f6c1d8e3a9b5"
down_revision: str | None = "e5b9c3d7f2a4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CODES = ("region_code", "country")


def upgrade() -> None:
    for column in CODES:
        op.create_index(f"ix_event_{column}_event_date_id", "event", [column, "event_date", "id"])
        op.drop_index(f"ix_event_{column}_event_date", table_name="event")


def downgrade() -> None:
    for column in CODES:
        op.create_index(f"ix_event_{column}_event_date", "event", [column, "event_date"])
        op.drop_index(f"ix_event_{column}_event_date_id", table_name="event")
