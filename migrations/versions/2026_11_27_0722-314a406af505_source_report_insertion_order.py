"""source report insertion order: reports added in one transaction keep their order

Revision ID: 314a406af505
Revises: c3e8a1f5d2b4
Create Date: 2026-11-27 07:22:41.118492+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "314a406af505"
down_revision: str | None = "c3e8a1f5d2b4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '10s'")
    op.add_column(
        "source_report",
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=False), nullable=False),
    )
    op.create_unique_constraint(op.f("uq_source_report_seq"), "source_report", ["seq"])


def downgrade() -> None:
    op.drop_constraint(op.f("uq_source_report_seq"), "source_report", type_="unique")
    op.drop_column("source_report", "seq")
