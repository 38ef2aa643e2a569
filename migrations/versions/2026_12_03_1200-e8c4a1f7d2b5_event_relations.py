"""Typed relations between events (event_relation: retakes, responds_to, part_of,
contradicts, same_as), recorded as revisions of both events (actions relation_added and
relation_removed). The stored documents and CSV lines gain `relations` (itk_event_docs v3):
existing events are rendered again, with the change-feed and rollup triggers off for that one
UPDATE (no event has a relation yet, so no content changes), as the migration that stored
them did.

Revision ID: e8c4a1f7d2b5
Revises: d7b3f9a2c4e6
Create Date: 2026-12-03 12:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrations.sql import remove_revision_actions, render_documents, set_revision_actions

revision: str = "e8c4a1f7d2b5"
down_revision: str | None = "d7b3f9a2c4e6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUIET = ("event_changes_update", "event_rollup_update", "event_key_update",
         "event_children_follow_date", "event_control_claims_update")  # fmt: skip
ACTIONS = ("create", "update", "status", "source_added", "delete", "restore", "merge",
           "merged_into", "import", "unit_changed", "unmerge", "unmerged")  # fmt: skip
ADDED = ("relation_added", "relation_removed")


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '10s'")
    op.create_table(
        "event_relation",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("other_id", sa.Uuid(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("event_id <> other_id", name=op.f("ck_event_relation_not_itself")),
        sa.CheckConstraint(
            "kind IN ('retakes', 'responds_to', 'part_of', 'contradicts', 'same_as')",
            name=op.f("ck_event_relation_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["api_key.id"], name=op.f("fk_event_relation_created_by_api_key")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["event_key.id"],
            name=op.f("fk_event_relation_event_id_event_key"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["other_id"],
            ["event_key.id"],
            name=op.f("fk_event_relation_other_id_event_key"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_relation")),
        sa.UniqueConstraint(
            "event_id", "kind", "other_id", name=op.f("uq_event_relation_event_id_kind_other_id")
        ),
        sa.UniqueConstraint("seq", name=op.f("uq_event_relation_seq")),
    )
    op.create_index(op.f("ix_event_relation_other_id"), "event_relation", ["other_id"])
    set_revision_actions((*ACTIONS, *ADDED))
    render_documents("itk_event_docs.v3", QUIET)


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '10s'")
    remove_revision_actions(ADDED, kept=ACTIONS)
    op.drop_index(op.f("ix_event_relation_other_id"), table_name="event_relation")
    op.drop_table("event_relation")
    render_documents("itk_event_docs.v2", QUIET)
