"""event partitioned by event_date: yearly partitions and a default one

The primary key becomes (id, event_date), as PostgreSQL requires of a partitioned table. What
refers to an event by its id alone (source reports, unit links, revisions, merged_into) now
references event_key, a plain table of every event's id (and external id, unique there, since
a partitioned table cannot hold a unique key without event_date). Statement-level triggers
keep event_key in step with event, so the checks on every child row stay on a plain primary
key. Rows are copied into the new table in one statement; the change-feed and rollup triggers
are recreated on it unchanged.

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
# event_key follows event: one row per event, inserted and deleted with it; its external id
# follows updates. Deleting a key cascades to the event's sources and unit links.
KEYS = {
    "insert": (
        "REFERENCING NEW TABLE AS new_rows",
        "INSERT INTO event_key (id, external_source, external_id)"
        " SELECT id, external_source, external_id FROM new_rows",
    ),
    "update": (
        "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "UPDATE event_key k SET external_source = n.external_source,"
        " external_id = n.external_id FROM new_rows n"
        " WHERE k.id = n.id AND (k.external_source, k.external_id)"
        " IS DISTINCT FROM (n.external_source, n.external_id)",
    ),
    "delete": (
        "REFERENCING OLD TABLE AS old_rows",
        "DELETE FROM event_key k USING old_rows o WHERE k.id = o.id",
    ),
}


def upgrade() -> None:
    for table in CHILDREN:
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT fk_{table}_event_id_event")
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
    for trigger in TRIGGERS:
        op.execute(trigger)

    op.execute(
        "CREATE TABLE event_key (id uuid NOT NULL, external_source text, external_id text,"
        " CONSTRAINT pk_event_key PRIMARY KEY (id))"
    )
    op.execute(
        "INSERT INTO event_key (id, external_source, external_id)"
        " SELECT id, external_source, external_id FROM event"
    )
    op.execute(
        "CREATE UNIQUE INDEX uq_event_external ON event_key (external_source, external_id)"
        " NULLS NOT DISTINCT WHERE external_id IS NOT NULL"
    )
    for operation, (transition, body) in KEYS.items():
        op.execute(
            f"CREATE FUNCTION itk_event_key_{operation}() RETURNS trigger LANGUAGE plpgsql"
            f" AS $$ BEGIN {body}; RETURN NULL; END $$"
        )
        op.execute(
            f"CREATE TRIGGER event_key_{operation} AFTER {operation.upper()} ON event"
            f" {transition} FOR EACH STATEMENT EXECUTE FUNCTION itk_event_key_{operation}()"
        )
    for table, on_delete in CHILDREN.items():
        op.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT fk_{table}_event_id_event_key"
            f" FOREIGN KEY (event_id) REFERENCES event_key (id){on_delete}"
        )
    op.execute(
        "ALTER TABLE event ADD CONSTRAINT fk_event_merged_into_event_key"
        " FOREIGN KEY (merged_into) REFERENCES event_key (id)"
    )
    op.execute("ANALYZE event")


def downgrade() -> None:
    for table in CHILDREN:
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT fk_{table}_event_id_event_key")
    op.execute("ALTER TABLE event DROP CONSTRAINT fk_event_merged_into_event_key")
    for operation in KEYS:
        op.execute(f"DROP TRIGGER event_key_{operation} ON event")
        op.execute(f"DROP FUNCTION itk_event_key_{operation}()")
    op.execute("DROP TABLE event_key")

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
    for table, on_delete in CHILDREN.items():
        op.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT fk_{table}_event_id_event"
            f" FOREIGN KEY (event_id) REFERENCES event (id){on_delete}"
        )
