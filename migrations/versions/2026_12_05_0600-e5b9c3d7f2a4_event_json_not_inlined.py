"""itk_event_json with a SET clause (jit = off): PostgreSQL never tries to inline a function
that has one. Without it, planning every list page parsed and analysed the function's 4 KB
body only to find it cannot be inlined (0.25 ms of a region page's 0.68 ms of planning on
PostgreSQL 15). The body is unchanged.

Revision ID: e5b9c3d7f2a4
Revises: d4f8a2c6e1b3
Create Date: 2026-12-05 06:00:00+00:00
"""

from collections.abc import Sequence

from migrations.sql import run_sql

revision: str = "e5b9c3d7f2a4"
down_revision: str | None = "d4f8a2c6e1b3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    run_sql("functions/itk_event_json.v2")


def downgrade() -> None:
    run_sql("functions/itk_event_json")
