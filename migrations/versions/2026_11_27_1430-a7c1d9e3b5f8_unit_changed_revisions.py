"""unit_changed revisions: renaming a unit or changing its side is recorded on every event
that names it, so the revision log alone still rebuilds each event

Revision ID: a7c1d9e3b5f8
Revises: f2a8c4e6b9d1
Create Date: 2026-11-27 14:30:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "a7c1d9e3b5f8"
down_revision: str | None = "f2a8c4e6b9d1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIONS = (
    "'create', 'update', 'status', 'source_added', 'delete', 'restore', 'merge', "
    "'merged_into', 'import'"
)


def _allow(actions: str) -> None:
    # On the partitioned table: PostgreSQL applies both to every partition.
    op.execute("ALTER TABLE revision DROP CONSTRAINT ck_revision_action")
    op.execute(
        f"ALTER TABLE revision ADD CONSTRAINT ck_revision_action CHECK (action IN ({actions}))"
    )


def upgrade() -> None:
    _allow(ACTIONS + ", 'unit_changed'")


def downgrade() -> None:
    # The older schema knows such a change as an update of the units field (its diff has the
    # same shape). Revisions are append-only, so the guard trigger is set aside for this one
    # statement, in this migration's transaction.
    op.execute("ALTER TABLE revision DISABLE TRIGGER revision_no_update_delete")
    op.execute("UPDATE revision SET action = 'update' WHERE action = 'unit_changed'")
    op.execute("ALTER TABLE revision ENABLE TRIGGER revision_no_update_delete")
    _allow(ACTIONS)
