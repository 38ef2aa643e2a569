"""event partitioned by event_date: yearly partitions and a default one

The primary key becomes (id, event_date), as PostgreSQL requires of a partitioned table;
source reports, unit links and revisions carry their event's date and reference (id,
event_date) with ON UPDATE CASCADE, so an event whose date changes takes them along; a
trigger fills the date in when an insert leaves it out. External ids stay unique through
event_external, which statement-level triggers keep in step. Rows are copied into the new
table in one statement; the change-feed and rollup triggers are recreated on it unchanged.

Revision ID: e5a9c3d1b7f2
Revises: c56e50fb2f84
Create Date: 2026-11-27 10:40:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "e5a9c3d1b7f2"
down_revision: str | None = "c56e50fb2f84"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHILDREN = {  # table: ON DELETE action of its reference to the event
    "source_report": " ON DELETE CASCADE",
    "event_unit": " ON DELETE CASCADE",
    "revision": "",
}
INDEXES = [
    "CREATE INDEX ix_event_country_event_date ON event (country, event_date)",
    "CREATE INDEX ix_event_earth ON event USING gist (ll_to_earth(lat, lon))",
    "CREATE INDEX ix_event_event_date_id ON event (event_date, id)",
    "CREATE INDEX ix_event_event_type_sub_event_type ON event (event_type, sub_event_type)",
    "CREATE INDEX ix_event_location_key_trgm ON event USING gin (location_key gin_trgm_ops)",
    "CREATE INDEX ix_event_place_id ON event (place_id)",
    "CREATE INDEX ix_event_point ON event USING gist (point(lon, lat))",
    "CREATE INDEX ix_event_region_code_event_date ON event (region_code, event_date)",
    "CREATE INDEX ix_event_search ON event USING gin (search)",
    "CREATE INDEX ix_event_status ON event (status)",
    "CREATE INDEX ix_event_tags ON event USING gin (tags)",
    "CREATE INDEX ix_event_updated_at_id ON event (updated_at, id)",
]
EVENT_FKS = [
    "ADD CONSTRAINT fk_event_created_by_api_key FOREIGN KEY (created_by) REFERENCES api_key(id)",
    "ADD CONSTRAINT fk_event_place_id_place FOREIGN KEY (place_id) REFERENCES place(id)",
    "ADD CONSTRAINT fk_event_region_code_region FOREIGN KEY (region_code) REFERENCES region(code)",
    "ADD CONSTRAINT fk_event_updated_by_api_key FOREIGN KEY (updated_by) REFERENCES api_key(id)",
]
TRIGGERS = [
    "CREATE TRIGGER event_changes_insert AFTER INSERT ON event REFERENCING NEW TABLE AS new_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION itk_log_event_changes()",
    "CREATE TRIGGER event_changes_update AFTER UPDATE ON event REFERENCING NEW TABLE AS new_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION itk_log_event_changes()",
    "CREATE TRIGGER event_rollup_insert AFTER INSERT ON event REFERENCING NEW TABLE AS new_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION itk_rollup_insert()",
    "CREATE TRIGGER event_rollup_update AFTER UPDATE ON event"
    " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION itk_rollup_update()",
    "CREATE TRIGGER event_rollup_delete AFTER DELETE ON event REFERENCING OLD TABLE AS old_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION itk_rollup_delete()",
]
COPY_ROWS = """
DO $$
DECLARE columns text;
BEGIN
    SELECT string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position) INTO columns
    FROM information_schema.columns
    WHERE table_schema = current_schema() AND table_name = '{source}'
      AND is_generated = 'NEVER';
    EXECUTE format('INSERT INTO {target} (%s) SELECT %s FROM {source}', columns, columns);
END $$
"""
YEARLY_PARTITIONS = """
DO $$
DECLARE
    first_year int := least(extract(year FROM now())::int - 10,
                            (SELECT extract(year FROM min(event_date))::int FROM event_unpartitioned));
    last_year int := greatest(extract(year FROM now())::int + 2,
                              (SELECT extract(year FROM max(event_date))::int FROM event_unpartitioned));
BEGIN
    FOR year IN coalesce(first_year, extract(year FROM now())::int - 10)..last_year LOOP
        PERFORM itk_event_partition(year);
    END LOOP;
END $$
"""
# A partition for one year, made ahead of time (the migration makes up to two years ahead,
# the background compactor keeps it so). Years before the first partition stay in the default
# one: a year whose rows are already there cannot get a partition of its own in place.
EVENT_PARTITION = """
CREATE FUNCTION itk_event_partition(year int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    name text := 'event_y' || year;
    low date := make_date(year, 1, 1);
    high date := make_date(year + 1, 1, 1);
BEGIN
    IF to_regclass(name) IS NOT NULL THEN
        RETURN name;
    END IF;
    IF EXISTS (SELECT FROM event_default WHERE event_date >= low AND event_date < high) THEN
        RAISE EXCEPTION 'events of % are in event_default already; that year stays there', year
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    EXECUTE format('CREATE TABLE %I PARTITION OF event FOR VALUES FROM (%L) TO (%L)',
                   name, low, high);
    RETURN name;
END $$
"""
CHILD_EVENT_DATE = """
CREATE FUNCTION itk_child_event_date() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' AND NEW.event_date IS NOT NULL THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.event_id = OLD.event_id THEN
        RETURN NEW;
    END IF;
    SELECT e.event_date INTO NEW.event_date FROM event e WHERE e.id = NEW.event_id;
    RETURN NEW;
END $$
"""
EXTERNAL_IDS = {
    "insert": (
        "REFERENCING NEW TABLE AS new_rows",
        "INSERT INTO event_external (event_id, external_source, external_id)"
        " SELECT id, external_source, external_id FROM new_rows WHERE external_id IS NOT NULL",
    ),
    "update": (
        "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "DELETE FROM event_external x USING old_rows o JOIN new_rows n ON n.id = o.id"
        " WHERE x.event_id = o.id AND (o.external_source, o.external_id)"
        " IS DISTINCT FROM (n.external_source, n.external_id);"
        " INSERT INTO event_external (event_id, external_source, external_id)"
        " SELECT n.id, n.external_source, n.external_id FROM new_rows n JOIN old_rows o ON o.id = n.id"
        " WHERE n.external_id IS NOT NULL AND (o.external_source, o.external_id)"
        " IS DISTINCT FROM (n.external_source, n.external_id)",
    ),
    "delete": (
        "REFERENCING OLD TABLE AS old_rows",
        "DELETE FROM event_external x USING old_rows o WHERE x.event_id = o.id",
    ),
}
# Revisions stay append-only; the one change allowed is the date an event's cascade carries.
REVISION_APPEND_ONLY = """
CREATE OR REPLACE FUNCTION revision_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (to_jsonb(NEW) - 'event_date') = (to_jsonb(OLD) - 'event_date') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'revision rows are append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$
"""
REVISION_APPEND_ONLY_BEFORE = """
CREATE OR REPLACE FUNCTION revision_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'revision rows are append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$
"""


def upgrade() -> None:
    for table in CHILDREN:
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT fk_{table}_event_id_event")
        op.execute(f"ALTER TABLE {table} ADD COLUMN event_date date")
    op.execute("ALTER TABLE revision DISABLE TRIGGER revision_no_update_delete")
    for table in CHILDREN:
        op.execute(
            f"UPDATE {table} c SET event_date = e.event_date FROM event e WHERE e.id = c.event_id"
        )
        op.execute(f"ALTER TABLE {table} ALTER COLUMN event_date SET NOT NULL")
    op.execute("ALTER TABLE revision ENABLE TRIGGER revision_no_update_delete")
    op.execute("ALTER TABLE event DROP CONSTRAINT fk_event_merged_into_event")

    op.execute("ALTER TABLE event RENAME TO event_unpartitioned")
    op.execute(
        "CREATE TABLE event (LIKE event_unpartitioned INCLUDING DEFAULTS INCLUDING GENERATED"
        " INCLUDING CONSTRAINTS) PARTITION BY RANGE (event_date)"
    )
    op.execute("CREATE TABLE event_default PARTITION OF event DEFAULT")
    op.execute(EVENT_PARTITION)
    op.execute(YEARLY_PARTITIONS)
    op.execute(COPY_ROWS.format(source="event_unpartitioned", target="event"))
    op.execute("DROP TABLE event_unpartitioned")

    op.execute("ALTER TABLE event ADD CONSTRAINT pk_event PRIMARY KEY (id, event_date)")
    for fk in EVENT_FKS:
        op.execute(f"ALTER TABLE event {fk}")
    for index in INDEXES:
        op.execute(index)
    op.execute(
        "CREATE INDEX ix_event_external ON event (external_source, external_id)"
        " WHERE external_id IS NOT NULL"
    )
    for trigger in TRIGGERS:
        op.execute(trigger)

    op.execute(
        "CREATE TABLE event_external (event_id uuid NOT NULL, external_source text,"
        " external_id text NOT NULL, CONSTRAINT pk_event_external PRIMARY KEY (event_id),"
        " CONSTRAINT uq_event_external UNIQUE NULLS NOT DISTINCT (external_source, external_id))"
    )
    op.execute(
        "INSERT INTO event_external SELECT id, external_source, external_id FROM event"
        " WHERE external_id IS NOT NULL"
    )
    for operation, (transition, body) in EXTERNAL_IDS.items():
        op.execute(
            f"CREATE FUNCTION itk_event_external_{operation}() RETURNS trigger LANGUAGE plpgsql"
            f" AS $$ BEGIN {body}; RETURN NULL; END $$"
        )
        op.execute(
            f"CREATE TRIGGER event_external_{operation} AFTER {operation.upper()} ON event"
            f" {transition} FOR EACH STATEMENT EXECUTE FUNCTION itk_event_external_{operation}()"
        )

    op.execute(CHILD_EVENT_DATE)
    op.execute(REVISION_APPEND_ONLY)
    for table, on_delete in CHILDREN.items():
        op.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT fk_{table}_event_id_event"
            " FOREIGN KEY (event_id, event_date) REFERENCES event (id, event_date)"
            f" ON UPDATE CASCADE{on_delete}"
        )
        op.execute(
            f"CREATE TRIGGER {table}_event_date BEFORE INSERT OR UPDATE OF event_id ON {table}"
            " FOR EACH ROW EXECUTE FUNCTION itk_child_event_date()"
        )
    op.execute("ANALYZE event")


def downgrade() -> None:
    for table in CHILDREN:
        op.execute(f"DROP TRIGGER {table}_event_date ON {table}")
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT fk_{table}_event_id_event")
    op.execute("DROP FUNCTION itk_child_event_date()")
    for operation in EXTERNAL_IDS:
        op.execute(f"DROP TRIGGER event_external_{operation} ON event")
        op.execute(f"DROP FUNCTION itk_event_external_{operation}()")
    op.execute("DROP TABLE event_external")

    op.execute("ALTER TABLE event RENAME TO event_partitioned")
    op.execute(
        "CREATE TABLE event (LIKE event_partitioned INCLUDING DEFAULTS INCLUDING GENERATED"
        " INCLUDING CONSTRAINTS)"
    )
    op.execute(COPY_ROWS.format(source="event_partitioned", target="event"))
    op.execute("DROP TABLE event_partitioned")
    op.execute("DROP FUNCTION itk_event_partition(int)")
    op.execute("ALTER TABLE event ADD CONSTRAINT pk_event PRIMARY KEY (id)")
    for fk in EVENT_FKS:
        op.execute(f"ALTER TABLE event {fk}")
    op.execute(
        "ALTER TABLE event ADD CONSTRAINT fk_event_merged_into_event"
        " FOREIGN KEY (merged_into) REFERENCES event(id)"
    )
    for index in INDEXES:
        op.execute(index)
    op.execute(
        "CREATE UNIQUE INDEX uq_event_external ON event (external_source, external_id)"
        " NULLS NOT DISTINCT WHERE external_id IS NOT NULL"
    )
    for trigger in TRIGGERS:
        op.execute(trigger)
    op.execute(REVISION_APPEND_ONLY_BEFORE)
    for table, on_delete in CHILDREN.items():
        op.execute(f"ALTER TABLE {table} DROP COLUMN event_date")
        op.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT fk_{table}_event_id_event"
            f" FOREIGN KEY (event_id) REFERENCES event (id){on_delete}"
        )
