"""Trust model: unmerge revisions, and an append-only audit of region and unit edits

Revision ID: b3e7f1a9c2d4
Revises: a7c1d9e3b5f8
Create Date: 2026-12-02 14:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "b3e7f1a9c2d4"
down_revision: str | None = "a7c1d9e3b5f8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIONS = (
    "'create', 'update', 'status', 'source_added', 'delete', 'restore', 'merge', "
    "'merged_into', 'import', 'unit_changed'"
)


def _allow(actions: str) -> None:
    # On the partitioned table: PostgreSQL applies both to every partition.
    op.execute("ALTER TABLE revision DROP CONSTRAINT ck_revision_action")
    op.execute(
        f"ALTER TABLE revision ADD CONSTRAINT ck_revision_action CHECK (action IN ({actions}))"
    )


def upgrade() -> None:
    _allow(ACTIONS + ", 'unmerge', 'unmerged'")
    op.create_table(
        "reference_change",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("ref", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("actor", sa.UUID(), nullable=False),
        sa.Column(
            "at",
            postgresql.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("before", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("after", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.CheckConstraint(
            "action IN ('create', 'update')", name=op.f("ck_reference_change_action")
        ),
        sa.CheckConstraint("kind IN ('region', 'unit')", name=op.f("ck_reference_change_kind")),
        sa.ForeignKeyConstraint(
            ["actor"], ["api_key.id"], name=op.f("fk_reference_change_actor_api_key")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reference_change")),
    )
    op.create_index(
        op.f("ix_reference_change_kind_ref_id"), "reference_change", ["kind", "ref", "id"]
    )
    # Append-only like revisions, with the same guard (no trigger above it ever moves rows
    # of this table, so its one exception never applies here).
    op.execute(
        "CREATE TRIGGER reference_change_no_update_delete BEFORE UPDATE OR DELETE"
        " ON reference_change FOR EACH ROW EXECUTE FUNCTION revision_append_only()"
    )
    op.execute(
        "CREATE TRIGGER reference_change_no_truncate BEFORE TRUNCATE ON reference_change"
        " FOR EACH STATEMENT EXECUTE FUNCTION revision_append_only()"
    )


def downgrade() -> None:
    op.drop_table("reference_change")
    # The older schema has no unmerge: its revisions read as updates (the same diff shapes:
    # fields from/to, sources moved and moved in). The guard is set aside for this statement.
    op.execute("ALTER TABLE revision DISABLE TRIGGER revision_no_update_delete")
    op.execute("UPDATE revision SET action = 'update' WHERE action IN ('unmerge', 'unmerged')")
    op.execute("ALTER TABLE revision ENABLE TRIGGER revision_no_update_delete")
    _allow(ACTIONS)
