"""change feed and exports: event_change filled by triggers, RFC 3339 formatting in SQL

Revision ID: c3e8a1f5d2b4
Revises: b7d2c9e4f1a3
Create Date: 2026-11-27 07:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "c3e8a1f5d2b4"
down_revision: str | None = "b7d2c9e4f1a3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RFC3339 = """
CREATE FUNCTION itk_rfc3339(ts timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE STRICT
AS $$ SELECT replace(to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                     '.000000Z', 'Z') $$
"""

LOG_CHANGES = """
CREATE FUNCTION itk_log_event_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO event_change (event_id, op)
    SELECT id, CASE WHEN deleted_at IS NULL THEN 'upsert' ELSE 'delete' END FROM new_rows;
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.create_table(
        "event_change",
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column(
            "xid",
            sa.BigInteger(),
            server_default=sa.text("(pg_current_xact_id()::text)::bigint"),
            nullable=False,
        ),
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("op", sa.Text(), nullable=False),
        sa.Column(
            "changed_at",
            postgresql.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("op IN ('upsert', 'delete')", name=op.f("ck_event_change_op")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_event_change")),
    )
    op.create_index(op.f("ix_event_change_xid_seq"), "event_change", ["xid", "seq"])
    op.execute(RFC3339)
    op.execute(LOG_CHANGES)
    for event in ("INSERT", "UPDATE"):
        op.execute(
            f"CREATE TRIGGER event_changes_{event.lower()} AFTER {event} ON event "
            "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
            "EXECUTE FUNCTION itk_log_event_changes()"
        )
    # Events that existed before the feed: one upsert each, so a first poll sees everything.
    op.execute(
        "INSERT INTO event_change (event_id, op) SELECT id, "
        "CASE WHEN deleted_at IS NULL THEN 'upsert' ELSE 'delete' END FROM event ORDER BY id"
    )


def downgrade() -> None:
    for event in ("insert", "update"):
        op.execute(f"DROP TRIGGER event_changes_{event} ON event")
    op.execute("DROP FUNCTION itk_log_event_changes()")
    op.execute("DROP FUNCTION itk_rfc3339(timestamptz)")
    op.drop_index(op.f("ix_event_change_xid_seq"), table_name="event_change")
    op.drop_table("event_change")
