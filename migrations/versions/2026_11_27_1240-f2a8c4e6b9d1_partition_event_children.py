"""what grows with events partitioned: sources, unit links and revisions with their event by
event_date, the change feed by changed_at

Each of source_report, event_unit and revision gets its event's event_date (kept equal to it:
a trigger on event moves an event's rows when its date changes) and the same yearly
partitions and default partition as event, so a year of events, with everything that grew
with it, is one set of partitions that can be detached, archived and dropped together, and
queries joining on (event_id, event_date) touch only the partitions their dates select.
Unique keys gain event_date, as PostgreSQL requires; the references to event_key(id) stay
(checks on a plain primary key). event_change, the change feed, is read in (xid, seq) order
across all dates, so it is partitioned by when the change was written (a UTC year per
partition), to be cut by age. Rows are copied into the new tables in one statement each;
downgrade copies them back.

Revision ID: f2a8c4e6b9d1
Revises: e5a9c3d1b7f2
Create Date: 2026-11-27 12:40:00+00:00
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass

from alembic import op

revision: str = "f2a8c4e6b9d1"
down_revision: str | None = "e5a9c3d1b7f2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What follows its event's date (see FOLLOW_DATE).
CHILDREN_OF_EVENT = ("source_report", "event_unit", "revision")


@dataclass(frozen=True)
class Table:
    """What a rebuilt table holds besides its columns: keys, indexes, references, triggers,
    and the column it is partitioned by (event_date, its event's, added to the table, unless
    it is partitioned by a column of its own)."""

    name: str
    keys: list[str]
    indexes: list[str]
    references: list[str]
    triggers: list[str]
    identity: str | None
    key: str = "event_date"

    @property
    def adds_event_date(self) -> bool:
        return self.key == "event_date"

    def constraints(self, partitioned: bool) -> list[str]:
        """The keys' ADD CONSTRAINT clauses: with the partition key for the partitioned table
        (and in a unique key's name, as the naming convention has it)."""
        if not partitioned:
            return self.keys
        return [
            re.sub(r"^CONSTRAINT (uq_\w+)", rf"CONSTRAINT \1_{self.key}", key).replace(
                ")", f", {self.key})", 1
            )
            for key in self.keys
        ]


TABLES = [
    Table(
        "source_report",
        keys=[
            "CONSTRAINT pk_source_report PRIMARY KEY (id)",
            "CONSTRAINT uq_source_report_seq UNIQUE (seq)",
        ],
        indexes=[
            "CREATE INDEX ix_source_report_event_id ON source_report (event_id)",
            "CREATE INDEX ix_source_report_search ON source_report USING gin (search)",
            "CREATE INDEX ix_source_report_source_name ON source_report (source_name)",
        ],
        references=[
            "fk_source_report_added_by_api_key FOREIGN KEY (added_by) REFERENCES api_key(id)",
            "fk_source_report_event_id_event_key FOREIGN KEY (event_id)"
            " REFERENCES event_key(id) ON DELETE CASCADE",
        ],
        triggers=[],
        identity="seq",
    ),
    Table(
        "event_unit",
        keys=["CONSTRAINT pk_event_unit PRIMARY KEY (event_id, unit_id)"],
        indexes=["CREATE INDEX ix_event_unit_unit_id ON event_unit (unit_id)"],
        references=[
            "fk_event_unit_event_id_event_key FOREIGN KEY (event_id)"
            " REFERENCES event_key(id) ON DELETE CASCADE",
            "fk_event_unit_unit_id_unit FOREIGN KEY (unit_id) REFERENCES unit(id)",
        ],
        triggers=[],
        identity=None,
    ),
    Table(
        "revision",
        keys=[
            "CONSTRAINT pk_revision PRIMARY KEY (id)",
            "CONSTRAINT uq_revision_event_id_revision UNIQUE (event_id, revision)",
        ],
        indexes=[],
        references=[
            "fk_revision_actor_api_key FOREIGN KEY (actor) REFERENCES api_key(id)",
            "fk_revision_event_id_event_key FOREIGN KEY (event_id) REFERENCES event_key(id)",
        ],
        triggers=[
            "CREATE TRIGGER revision_no_truncate BEFORE TRUNCATE ON revision"
            " FOR EACH STATEMENT EXECUTE FUNCTION revision_append_only()",
            "CREATE TRIGGER revision_no_update_delete BEFORE DELETE OR UPDATE ON revision"
            " FOR EACH ROW EXECUTE FUNCTION revision_append_only()",
        ],
        identity="id",
    ),
    Table(
        "event_change",
        keys=["CONSTRAINT pk_event_change PRIMARY KEY (seq)"],
        indexes=["CREATE INDEX ix_event_change_xid_seq ON event_change (xid, seq)"],
        references=[],
        triggers=[],
        identity="seq",
        key="changed_at",
    ),
]

COLUMNS = """
SELECT string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position)
FROM information_schema.columns
WHERE table_schema = current_schema() AND table_name = '{table}' AND is_generated = 'NEVER'
"""

# One year's partition of event and of every table partitioned with it: by event_date, or
# for the change feed by changed_at (a UTC year). Tables that are not partitioned are skipped
# (so the function serves unchanged after a downgrade). Years whose rows are in a default
# partition already stay there (moving them in place under foreign keys and triggers is not
# worth its risk): the function says so.
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
        CONTINUE WHEN to_regclass(parent || '_y' || year) IS NOT NULL
            OR (SELECT relkind FROM pg_class WHERE oid = parent::regclass) <> 'p';
        IF parent = 'event_change' THEN
            key := 'changed_at';
            low := make_timestamptz(year, 1, 1, 0, 0, 0, 'UTC')::text;
            high := make_timestamptz(year + 1, 1, 1, 0, 0, 0, 'UTC')::text;
        ELSE
            key := 'event_date';
            low := make_date(year, 1, 1)::text;
            high := make_date(year + 1, 1, 1)::text;
        END IF;
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
# Every year event has a partition for (ten back to two ahead, or more) gets one in the
# rebuilt tables; older change-feed rows, if any, go to its default partition.
YEARLY_PARTITIONS = """
DO $$
DECLARE year int;
BEGIN
    FOR year IN
        SELECT substring(c.relname FROM 8)::int FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'event'::regclass AND c.relname ~ '^event_y[0-9]{4}$'
    LOOP
        PERFORM itk_event_partition(year);
    END LOOP;
END $$
"""
# An event's rows follow its date. Revisions are append-only; this trigger is the one writer
# allowed to move them (revision_append_only lets it through: see there). The moved events are
# found with EXCEPT (hashed, linear) rather than a join of the two transition tables, which
# have no statistics: a status change of 80,000 events ran for minutes as a nested loop.
MOVED = "SELECT id, event_date FROM new_rows EXCEPT SELECT id, event_date FROM old_rows"
FOLLOW_DATE = f"""
CREATE FUNCTION itk_children_follow_event_date() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS ({MOVED}) THEN
        CREATE TEMP TABLE itk_moved_events ON COMMIT DROP AS {MOVED};
        ANALYZE itk_moved_events;
{{moves}}
        DROP TABLE itk_moved_events;
    END IF;
    RETURN NULL;
END $$
""".replace(
    "{moves}",
    "\n".join(
        f"        UPDATE {table} c SET event_date = m.event_date FROM itk_moved_events m"
        " WHERE c.event_id = m.id AND c.event_date <> m.event_date;"
        for table in CHILDREN_OF_EVENT
    ),
)
APPEND_ONLY = """
CREATE OR REPLACE FUNCTION revision_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Moving with the event's date (an UPDATE of event_date alone, which PostgreSQL runs as
    -- a DELETE and an INSERT across partitions) is allowed from the event's trigger only.
    IF pg_trigger_depth() > 1 AND (
        TG_OP = 'DELETE'
        OR (TG_OP = 'UPDATE' AND (to_jsonb(NEW) - 'event_date') = (to_jsonb(OLD) - 'event_date'))
    ) THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    RAISE EXCEPTION 'revision rows are append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$
"""
STRICT_APPEND_ONLY = """
CREATE OR REPLACE FUNCTION revision_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'revision rows are append-only (% refused)', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END $$
"""


def _copy(source: str, target: str, event_date: bool) -> None:
    """INSERT every row of source into target (the columns they share), with the event's
    date from event when `event_date`."""
    columns_of = source if event_date else target
    date_column, date_value = (", event_date", ", e.event_date") if event_date else ("", "")
    join = "JOIN event e ON e.id = c.event_id" if event_date else ""
    op.execute(
        f"""
DO $$
DECLARE columns text;
BEGIN
    {COLUMNS.format(table=columns_of).strip()} INTO columns;
    EXECUTE format('INSERT INTO {target} (%s{date_column})'
                   ' SELECT %s{date_value} FROM {source} c {join}',
                   columns, regexp_replace(columns, '([^, ]+)', 'c.\\1', 'g'));
END $$
"""
    )


def _finish(table: Table, partitioned: bool) -> None:
    """Keys, indexes, references, triggers and the identity sequence of a rebuilt table."""
    for key in table.constraints(partitioned):
        op.execute(f"ALTER TABLE {table.name} ADD {key}")
    for index in table.indexes:
        op.execute(index)
    for reference in table.references:
        op.execute(f"ALTER TABLE {table.name} ADD CONSTRAINT {reference}")
    for trigger in table.triggers:
        op.execute(trigger)
    if table.identity:
        # LIKE ... INCLUDING IDENTITY made a new sequence (named ..._seq1 while the old table
        # still had ..._seq): continue after the copied rows, under the usual name.
        column = f"'{table.name}', '{table.identity}'"
        op.execute(
            f"SELECT setval(pg_get_serial_sequence({column}),"
            f" coalesce((SELECT max({table.identity}) FROM {table.name}), 0) + 1, false)"
        )
        op.execute(
            f"DO $$ BEGIN IF to_regclass('{table.name}_{table.identity}_seq') IS NULL THEN"
            f" EXECUTE format('ALTER SEQUENCE %s RENAME TO {table.name}_{table.identity}_seq',"
            f" pg_get_serial_sequence({column})); END IF; END $$"
        )
    op.execute(f"ANALYZE {table.name}")


def _create_like(table: Table, old: str, partitioned: bool) -> None:
    """The table again, like its old self (plus its event's date and PARTITION BY when
    partitioned, without the date when not)."""
    like = f"LIKE {old} INCLUDING DEFAULTS INCLUDING GENERATED INCLUDING IDENTITY"
    if not partitioned:
        op.execute(f"CREATE TABLE {table.name} ({like} INCLUDING CONSTRAINTS)")
        if table.adds_event_date:
            op.execute(f"ALTER TABLE {table.name} DROP COLUMN event_date")
        return
    event_date = ", event_date date NOT NULL" if table.adds_event_date else ""
    op.execute(
        f"CREATE TABLE {table.name} ({like} INCLUDING CONSTRAINTS{event_date})"
        f" PARTITION BY RANGE ({table.key})"
    )
    op.execute(f"CREATE TABLE {table.name}_default PARTITION OF {table.name} DEFAULT")


def upgrade() -> None:
    op.execute(APPEND_ONLY)
    for table in TABLES:
        op.execute(f"ALTER TABLE {table.name} RENAME TO {table.name}_unpartitioned")
        _create_like(table, f"{table.name}_unpartitioned", partitioned=True)
    # Revisions refuse TRUNCATE; a statement trigger on the partitioned table does not fire
    # for TRUNCATE of one of its partitions, so each has its own (itk_event_partition adds
    # it to the yearly ones).
    op.execute(
        "CREATE TRIGGER revision_no_truncate BEFORE TRUNCATE ON revision_default"
        " FOR EACH STATEMENT EXECUTE FUNCTION revision_append_only()"
    )
    op.execute(PARTITION_FUNCTION)
    op.execute(YEARLY_PARTITIONS)
    for table in TABLES:
        _copy(f"{table.name}_unpartitioned", table.name, event_date=table.adds_event_date)
        op.execute(f"DROP TABLE {table.name}_unpartitioned")
        _finish(table, partitioned=True)
    op.execute(FOLLOW_DATE)
    op.execute(
        "CREATE TRIGGER event_children_follow_date AFTER UPDATE ON event"
        " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
        " FOR EACH STATEMENT EXECUTE FUNCTION itk_children_follow_event_date()"
    )


def downgrade() -> None:
    # itk_event_partition stays: it skips the tables that are plain again.
    op.execute("DROP TRIGGER event_children_follow_date ON event")
    op.execute("DROP FUNCTION itk_children_follow_event_date()")
    for table in TABLES:
        op.execute(f"ALTER TABLE {table.name} RENAME TO {table.name}_partitioned")
        _create_like(table, f"{table.name}_partitioned", partitioned=False)
        _copy(f"{table.name}_partitioned", table.name, event_date=False)
        op.execute(f"DROP TABLE {table.name}_partitioned")
        _finish(table, partitioned=False)
    op.execute(STRICT_APPEND_ONLY)
