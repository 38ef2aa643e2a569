"""event rollup: exact per-bucket counts for dashboards, appended by triggers, compacted

Revision ID: d4f7b2a9c6e1
Revises: 314a406af505
Create Date: 2026-11-27 07:45:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d4f7b2a9c6e1"
down_revision: str | None = "314a406af505"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = "grain, bucket, date_precision, country, region_code, event_type, status"
COLUMNS = "event_date, date_precision, country, region_code, event_type, status, fatalities"


def _apply(rows: str) -> str:
    """SQL appending a signed delta (rows with a `sign` column) to every grain.

    Appending, not upserting: writers never wait on each other's counter rows, so a long
    import does not hold up a POST on the same day. Queries sum the deltas;
    itk_rollup_compact() folds them together from time to time.
    """
    return f"""
    INSERT INTO event_rollup ({KEY}, events, fatalities)
    SELECT g.grain, date_trunc(g.grain, d.event_date)::date,
           -- Only day rows need the precision (to clip events at a range's edges).
           CASE g.grain WHEN 'day' THEN d.date_precision ELSE '' END, d.country,
           d.region_code, d.event_type, d.status,
           sum(d.sign), sum(d.sign * coalesce(d.fatalities, 0))
    FROM ({rows}) d CROSS JOIN (VALUES ('day'), ('week'), ('month')) AS g(grain)
    GROUP BY 1, 2, 3, 4, 5, 6, 7
    HAVING sum(d.sign) <> 0 OR sum(d.sign * coalesce(d.fatalities, 0)) <> 0
    """


COMPACT = f"""
CREATE FUNCTION itk_rollup_compact() RETURNS bigint LANGUAGE sql AS $$
    WITH repeated AS (
        SELECT {KEY} FROM event_rollup GROUP BY {KEY} HAVING count(*) > 1
    ), moved AS (
        DELETE FROM event_rollup r USING repeated k
        WHERE (r.grain, r.bucket, r.date_precision, r.country, r.event_type, r.status)
            = (k.grain, k.bucket, k.date_precision, k.country, k.event_type, k.status)
          AND r.region_code IS NOT DISTINCT FROM k.region_code
        RETURNING r.*
    ), merged AS (
        INSERT INTO event_rollup ({KEY}, events, fatalities)
        SELECT {KEY}, sum(events), sum(fatalities) FROM moved GROUP BY {KEY}
        HAVING sum(events) <> 0 OR sum(fatalities) <> 0
        RETURNING 1
    )
    SELECT count(*) FROM moved
$$
"""


NEW = f"SELECT {COLUMNS}, 1 AS sign FROM new_rows WHERE deleted_at IS NULL"
OLD = f"SELECT {COLUMNS}, -1 AS sign FROM old_rows WHERE deleted_at IS NULL"
FUNCTIONS = {
    "insert": _apply(NEW),
    "update": _apply(f"{NEW} UNION ALL {OLD}"),
    "delete": _apply(OLD),
}
TRANSITIONS = {
    "insert": "REFERENCING NEW TABLE AS new_rows",
    "update": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "delete": "REFERENCING OLD TABLE AS old_rows",
}


def upgrade() -> None:
    op.create_table(
        "event_rollup",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("grain", sa.Text(), nullable=False),
        sa.Column("bucket", sa.Date(), nullable=False),
        sa.Column("date_precision", sa.Text(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("region_code", sa.Text(), nullable=True),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("fatalities", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("grain IN ('day', 'week', 'month')", name=op.f("ck_event_rollup_grain")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_rollup")),
    )
    # Covering: dashboards' sums are index-only scans once the table is vacuumed.
    op.create_index(
        op.f("ix_event_rollup_grain_bucket"),
        "event_rollup",
        ["grain", "bucket"],
        postgresql_include=[
            "date_precision",
            "country",
            "region_code",
            "event_type",
            "status",
            "events",
            "fatalities",
        ],
    )
    op.execute(COMPACT)
    for operation, body in FUNCTIONS.items():
        op.execute(
            f"CREATE FUNCTION itk_rollup_{operation}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN {body}; RETURN NULL; END $$"
        )
        op.execute(
            f"CREATE TRIGGER event_rollup_{operation} AFTER {operation.upper()} ON event "
            f"{TRANSITIONS[operation]} FOR EACH STATEMENT EXECUTE FUNCTION itk_rollup_{operation}()"
        )
    op.execute(_apply(f"SELECT {COLUMNS}, 1 AS sign FROM event WHERE deleted_at IS NULL"))


def downgrade() -> None:
    for operation in FUNCTIONS:
        op.execute(f"DROP TRIGGER event_rollup_{operation} ON event")
        op.execute(f"DROP FUNCTION itk_rollup_{operation}()")
    op.execute("DROP FUNCTION itk_rollup_compact()")
    op.drop_index(op.f("ix_event_rollup_grain_bucket"), table_name="event_rollup")
    op.drop_table("event_rollup")
