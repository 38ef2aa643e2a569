"""the change feed partitioned by changed_at: yearly partitions and a default one

event_change grows with every write to an event. Its readers go in (xid, seq) order across
all of it, so it is partitioned by when the change was written, not by the event's date: a
year of the feed can then be detached and dropped once every consumer has read past it.
The primary key becomes (seq, changed_at); the (xid, seq) index the feed reads is made on
every partition. itk_event_partition(year) makes the feed's partition of that year too.
Rows are copied in one statement; downgrade copies them back into a plain table.

Revision ID: a7c1e3f5b9d2
Revises: f2a8c4e6b9d1
Create Date: 2026-11-27 13:30:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "a7c1e3f5b9d2"
down_revision: str | None = "f2a8c4e6b9d1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = "seq, xid, event_id, op, changed_at"

# Years of the feed: this one, two ahead and every year the feed already has rows in (older
# ones too: the feed is short next to events, and starts when the service does).
FEED_PARTITIONS = """
DO $$
DECLARE year int;
BEGIN
    FOR year IN
        SELECT DISTINCT y FROM (
            SELECT extract(year FROM changed_at AT TIME ZONE 'UTC')::int AS y
            FROM event_change_unpartitioned
            UNION SELECT extract(year FROM now() AT TIME ZONE 'UTC')::int + n
            FROM generate_series(0, 2) AS n
        ) years
    LOOP
        PERFORM itk_event_partition(year);
    END LOOP;
END $$
"""

# One year's partition of event, of everything partitioned with it by event_date, and of the
# change feed by changed_at (a UTC year). Years whose rows are in a default partition already
# stay there: the function says so. Downgrade keeps this function: it skips a plain feed.
PARTITION_FUNCTION = """
CREATE OR REPLACE FUNCTION itk_event_partition(year int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    parent text;
    key text;
    low text;
    high text;
    found boolean;
BEGIN
    FOREACH parent IN ARRAY ARRAY['event', 'source_report', 'event_unit', 'revision',
                                  'event_change'] LOOP
        CONTINUE WHEN to_regclass(parent || '_y' || year) IS NOT NULL;
        IF parent = 'event_change' THEN
            key := 'changed_at';
            low := make_timestamptz(year, 1, 1, 0, 0, 0, 'UTC')::text;
            high := make_timestamptz(year + 1, 1, 1, 0, 0, 0, 'UTC')::text;
        ELSE
            key := 'event_date';
            low := make_date(year, 1, 1)::text;
            high := make_date(year + 1, 1, 1)::text;
        END IF;
        -- The feed only while it is partitioned (after a downgrade, it is a plain table).
        CONTINUE WHEN parent = 'event_change' AND (
            SELECT relkind FROM pg_class WHERE oid = 'event_change'::regclass) <> 'p';
        EXECUTE format('SELECT EXISTS (SELECT FROM %I WHERE %I >= %L AND %I < %L)',
                       parent || '_default', key, low, key, high) INTO found;
        IF found THEN
            RAISE EXCEPTION '% rows of % are in %_default already; that year stays there',
                parent, year, parent USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
        EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                       parent || '_y' || year, parent, low, high);
        -- A statement trigger on revision does not fire for TRUNCATE of one partition.
        IF parent = 'revision' THEN
            EXECUTE format('CREATE TRIGGER revision_no_truncate BEFORE TRUNCATE ON %I'
                           ' FOR EACH STATEMENT EXECUTE FUNCTION revision_append_only()',
                           parent || '_y' || year);
        END IF;
    END LOOP;
    RETURN 'event_y' || year;
END $$
"""


def _finish(partitioned: bool) -> None:
    """Key, index and identity sequence of a rebuilt event_change."""
    key = "seq, changed_at" if partitioned else "seq"
    op.execute(f"ALTER TABLE event_change ADD CONSTRAINT pk_event_change PRIMARY KEY ({key})")
    op.execute("CREATE INDEX ix_event_change_xid_seq ON event_change (xid, seq)")
    # LIKE ... INCLUDING IDENTITY made a new sequence: continue after the copied rows, under
    # the usual name.
    op.execute(
        "SELECT setval(pg_get_serial_sequence('event_change', 'seq'),"
        " coalesce((SELECT max(seq) FROM event_change), 0) + 1, false)"
    )
    op.execute(
        "DO $$ BEGIN IF to_regclass('event_change_seq_seq') IS NULL THEN"
        " EXECUTE format('ALTER SEQUENCE %s RENAME TO event_change_seq_seq',"
        " pg_get_serial_sequence('event_change', 'seq')); END IF; END $$"
    )
    op.execute("ANALYZE event_change")


def upgrade() -> None:
    op.execute("ALTER TABLE event_change RENAME TO event_change_unpartitioned")
    op.execute(
        "CREATE TABLE event_change (LIKE event_change_unpartitioned INCLUDING DEFAULTS"
        " INCLUDING IDENTITY INCLUDING CONSTRAINTS) PARTITION BY RANGE (changed_at)"
    )
    op.execute("CREATE TABLE event_change_default PARTITION OF event_change DEFAULT")
    op.execute(PARTITION_FUNCTION)
    op.execute(FEED_PARTITIONS)
    op.execute(
        f"INSERT INTO event_change ({COLUMNS}) SELECT {COLUMNS} FROM event_change_unpartitioned"
    )
    op.execute("DROP TABLE event_change_unpartitioned")
    _finish(partitioned=True)


def downgrade() -> None:
    op.execute("ALTER TABLE event_change RENAME TO event_change_partitioned")
    op.execute(
        "CREATE TABLE event_change (LIKE event_change_partitioned INCLUDING DEFAULTS"
        " INCLUDING IDENTITY INCLUDING CONSTRAINTS)"
    )
    op.execute(
        f"INSERT INTO event_change ({COLUMNS}) SELECT {COLUMNS} FROM event_change_partitioned"
    )
    op.execute("DROP TABLE event_change_partitioned")
    _finish(partitioned=False)
