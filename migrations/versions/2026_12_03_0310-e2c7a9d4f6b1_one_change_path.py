"""One change path: itk_record_changes bumps versions and appends the next revisions for every
way an event changes (the service, imports, unit renames)

Revision ID: e2c7a9d4f6b1
Revises: d6b9e2f4a8c1
Create Date: 2026-12-03 03:10:00+00:00
"""

from collections.abc import Sequence

from alembic import op

from migrations.sql import run_sql

revision: str = "e2c7a9d4f6b1"
down_revision: str | None = "d6b9e2f4a8c1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    run_sql("functions/itk_record_changes")


def downgrade() -> None:
    op.execute(
        "DROP FUNCTION itk_record_changes(uuid[], date[], text[], uuid, jsonb[], text[], boolean)"
    )
