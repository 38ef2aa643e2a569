"""Set-based import: COPY into a staging table, checks as queries, one statement per step."""

import logging
import time
import uuid
from typing import Any

from psycopg import AsyncConnection
from psycopg.copy import AsyncCopy

from app.events import (
    EVENT_JSON,
    STAGED_ASSIGNMENTS,
    STAGED_DIFFERS,
    STAGED_NAMED,
    STAGING_COLUMNS,
    STAGING_TABLE,
    SUBSTANTIVE_FIELDS,
    insert_new_events,
    new_event_columns,
)
from app.gazetteer import repository as gazetteer

log = logging.getLogger("app.imports")

CLAIM_PLACE_MAX_KM = 25
# Degrees of latitude CLAIM_PLACE_MAX_KM spans (a cheap test before the distance's).
_LAT_SPAN = round(CLAIM_PLACE_MAX_KM / 110, 3)
_PLACE_KM = "earth_distance(ll_to_earth(k.lat, k.lon), ll_to_earth(c.lat, c.lon)) / 1000"
COPY_STAGING = f"COPY import_staging ({', '.join(STAGING_COLUMNS)}) FROM STDIN"

# Each check returns (line, message) for the rows it rejects.
CHECKS = [
    # ACLED's admin1 names: find the region by its name or an alias, within the country.
    (
        None,
        """UPDATE import_staging s SET region_code = (
               SELECT r.code FROM region r
               WHERE r.country = s.country
                 AND itk_name_key(s.region_name) = ANY(string_to_array(r.names_key, ' | '))
               ORDER BY r.code LIMIT 1)
           WHERE s.region_code IS NULL AND s.region_name IS NOT NULL""",
    ),
    (
        "place_id",
        """SELECT s.line, 'no place ' || s.place_id FROM import_staging s
           WHERE s.place_id IS NOT NULL
             AND NOT EXISTS (SELECT 1 FROM place p WHERE p.id = s.place_id)""",
    ),
    (
        "control",
        """SELECT s.line, 'control.places: no place ' || claimed.place_id
           FROM import_staging s
           CROSS JOIN LATERAL jsonb_array_elements_text(s.control -> 'places')
               AS claimed(place_id)
           WHERE s.control IS NOT NULL
             AND NOT EXISTS (SELECT 1 FROM place p WHERE p.id = claimed.place_id::uuid)""",
    ),
    (
        None,
        """UPDATE import_staging s SET
               country = coalesce(s.country, p.country),
               region_code = coalesce(s.region_code, p.region_code),
               lat = CASE WHEN s.lat IS NULL THEN p.lat ELSE s.lat END,
               lon = CASE WHEN s.lat IS NULL THEN p.lon ELSE s.lon END,
               location_name = coalesce(s.location_name, p.name)
           FROM place p WHERE p.id = s.place_id""",
    ),
    # A control claim naming no place, of an event with none (ACLED's rows), names the
    # gazetteer place its location is: the same name in any spelling (name key) in the
    # event's country and region, within 25 km of its coordinates when it has them; the
    # nearest, then the most populous. It is written into the claim, for all to see and fix.
    # Each distinct name is looked up once (an import names its villages again and again).
    (
        None,
        f"""WITH claims AS (
               SELECT line, country, region_code, lat, lon, itk_name_key(location_name) AS key
               FROM import_staging
               WHERE control IS NOT NULL AND place_id IS NULL AND location_name IS NOT NULL
                 AND coalesce(jsonb_array_length(control -> 'places'), 0) = 0
           ), names AS MATERIALIZED (
               SELECT DISTINCT key, country, region_code FROM claims WHERE key <> ''
           ), place_keys AS MATERIALIZED (
               -- Every name key of the places of those countries, then joined to the names
               -- on equality: one pass over the places, whatever the number of names.
               SELECT p.id, p.country, p.region_code, p.lat, p.lon, p.population, k.key
               FROM place p
               CROSS JOIN LATERAL unnest(string_to_array(p.names_key, ' | ')) AS k(key)
               WHERE p.country IN (SELECT country FROM names)
           ), candidates AS MATERIALIZED (
               SELECT n.key, n.country, n.region_code, p.id, p.lat, p.lon, p.population
               FROM place_keys p JOIN names n ON n.key = p.key AND n.country = p.country
               WHERE n.region_code IS NULL OR p.region_code = n.region_code
           ), chosen AS (
               SELECT DISTINCT ON (c.line) c.line, k.id AS place_id
               FROM claims c JOIN candidates k
                 ON k.key = c.key AND k.country = c.country
                AND k.region_code IS NOT DISTINCT FROM c.region_code
               WHERE c.lat IS NULL
                  OR (k.lat BETWEEN c.lat - {_LAT_SPAN} AND c.lat + {_LAT_SPAN}
                      AND {_PLACE_KM} <= {CLAIM_PLACE_MAX_KM})
               ORDER BY c.line, CASE WHEN c.lat IS NULL THEN 0 ELSE {_PLACE_KM} END,
                        k.population DESC NULLS LAST, k.id
           )
           UPDATE import_staging s
           SET control = jsonb_set(s.control, '{{places}}', jsonb_build_array(chosen.place_id))
           FROM chosen WHERE s.line = chosen.line""",
    ),
    (
        "region_code",
        """SELECT s.line, s.region_code || ' is not an ISO 3166-2 code of ' || s.country
           FROM import_staging s LEFT JOIN region r ON r.code = s.region_code
           WHERE s.region_code IS NOT NULL AND (r.code IS NULL OR r.country <> s.country)""",
    ),
    (
        "external_id",
        """SELECT line, 'external_id repeats line ' || first_line FROM (
               SELECT line, first_value(line) OVER w AS first_line, row_number() OVER w AS n
               FROM import_staging WHERE external_id IS NOT NULL
               WINDOW w AS (PARTITION BY external_source, external_id ORDER BY line)
           ) repeated WHERE n > 1""",
    ),
]
# event_key's unique index, not every yearly partition of event.
MARK_EXISTING = """
UPDATE import_staging s SET existing_id = k.id
FROM event_key k
WHERE s.external_id IS NOT NULL AND k.external_id = s.external_id
  AND k.external_source IS NOT DISTINCT FROM s.external_source
"""
EXISTING_ERRORS = """
SELECT line, 'external_id exists as event ' || existing_id FROM import_staging
WHERE existing_id IS NOT NULL ORDER BY line
"""
# The events an update will change, row-locked in id order (as merges and unit renames lock
# them) before anything of them is read: a status change, PATCH, delete or merge committed
# while the import runs would otherwise be overwritten by content read before it.
LOCK_EXISTING = """
SELECT e.id FROM event e
WHERE e.id IN (SELECT existing_id FROM import_staging WHERE existing_id IS NOT NULL)
ORDER BY e.id
FOR UPDATE OF e
"""
# An update never touches a deleted event or a merge's tombstone (sources added to one would
# be hidden with it, and a tombstone's content is what its unmerge brings back).
# A row without civilian_fatalities keeps the event's (fields.import_keeps): its fatalities
# may not fall below them.
KEPT_ERRORS = """
SELECT s.line, 'fatalities ' || s.fatalities || ' is fewer than the '
    || e.civilian_fatalities || ' civilian_fatalities of event ' || e.id
    || ', which a row without civilian_fatalities keeps'
FROM import_staging s JOIN event e ON e.id = s.existing_id
WHERE s.civilian_fatalities IS NULL AND e.civilian_fatalities > s.fatalities
"""
DELETED_ERRORS = """
SELECT s.line, 'external_id names event ' || e.id || CASE WHEN e.merged_into IS NULL
    THEN ', which is deleted' ELSE ', which was merged into ' || e.merged_into END
    || ': an import does not change it'
FROM import_staging s JOIN event e ON e.id = s.existing_id
WHERE e.deleted_at IS NOT NULL ORDER BY s.line
"""
COUNTS = """
SELECT count(*) FILTER (WHERE existing_id IS NULL), count(*) FILTER (WHERE existing_id IS NOT NULL)
FROM import_staging
"""
# The units the written rows name: each distinct (name, side) resolved to the unit it names
# by name or unit key (so "225 ОШП" joins "225th Separate Assault Regiment"), one new unit per
# key for the rest. Keys are computed once per distinct name, never per row.
UNIT_NAMES = """
DROP TABLE IF EXISTS import_unit;
CREATE TEMP TABLE import_unit (name text, side text, key text, unit_id uuid) ON COMMIT DROP
"""
STAGE_UNIT_NAMES = """
INSERT INTO import_unit (name, side, key)
SELECT name, side, itk_unit_key(name) FROM (
    SELECT DISTINCT u.name, u.side
    FROM import_staging s, jsonb_to_recordset(s.units) AS u(name text, side text)
    WHERE s.existing_id IS NULL OR %(update)s) AS d
"""
RESOLVE_UNITS = f"""
UPDATE import_unit w SET unit_id = {gazetteer.unit_named_sql("w.name", "w.side", "w.key")}
WHERE w.unit_id IS NULL
"""
# One unit per key; a name whose key is empty (no Latin or Cyrillic letters) by its name.
INSERT_UNITS = """
INSERT INTO unit (name, side)
SELECT DISTINCT ON (CASE WHEN key = '' THEN lower(name) ELSE key END, side) name, side
FROM import_unit WHERE unit_id IS NULL
ORDER BY CASE WHEN key = '' THEN lower(name) ELSE key END, side, name
ON CONFLICT DO NOTHING
"""
UNRESOLVED_UNITS = "SELECT EXISTS (SELECT 1 FROM import_unit WHERE unit_id IS NULL)"
# New events are written once, with their documents: their keys first (itk_event_key_insert
# v2 lets an event find its key made), then their sources and unit links (which refer to the
# key), then the events, rendered from their staged values and those children.
INSERT_KEYS = """
INSERT INTO event_key (id, external_source, external_id)
SELECT id, external_source, external_id FROM import_staging WHERE existing_id IS NULL
"""
CREATED = "SELECT id, event_date FROM import_staging WHERE existing_id IS NULL"
INSERT_EVENTS = (
    insert_new_events(
        f"""SELECT line, id, {STAGED_NAMED}, {new_event_columns("%(actor)s::uuid")}
    FROM import_staging WHERE existing_id IS NULL""",
        CREATED,
    )
    + "ORDER BY event.line"
)
SOURCE_COLUMNS = """id uuid, source_name text, url text, published_at timestamptz, stance text,
    excerpt text, reliability text, credibility text, language text, figures jsonb"""
_SOURCES_FROM = f"""
INSERT INTO source_report (id, event_id, event_date, source_name, url, published_at, stance,
                           excerpt, reliability, credibility, language, figures, added_by)
SELECT x.id, coalesce(s.existing_id, s.id), s.event_date, x.source_name, x.url,
       x.published_at, x.stance, x.excerpt, x.reliability, x.credibility, x.language,
       x.figures, %(actor)s
FROM import_staging s
     CROSS JOIN ROWS FROM (jsonb_to_recordset(s.sources) AS ({SOURCE_COLUMNS}))
         WITH ORDINALITY AS x(id, source_name, url, published_at, stance, excerpt, reliability,
                              credibility, language, figures, position)
"""
# New events: every staged source goes in, in file order.
INSERT_SOURCES = (
    _SOURCES_FROM
    + """
WHERE s.existing_id IS NULL
ORDER BY s.line, x.position
"""
)
# Updated events: only the sources they do not already have.
INSERT_NEW_SOURCES_OF_EXISTING = (
    _SOURCES_FROM
    + """
WHERE s.existing_id IS NOT NULL
  AND NOT EXISTS (
      SELECT 1 FROM source_report r
      WHERE r.event_id = s.existing_id AND r.event_date = s.event_date
        AND r.source_name = x.source_name
        AND r.url IS NOT DISTINCT FROM x.url
        AND r.published_at IS NOT DISTINCT FROM x.published_at)
ORDER BY s.line, x.position
"""
)
INSERT_UNIT_LINKS = """
INSERT INTO event_unit (event_id, event_date, unit_id, role, position)
SELECT coalesce(s.existing_id, s.id), s.event_date, u.unit_id, x.role,
       -- Only an updated event has links already (a lookup per new event would cost more
       -- than the insert itself: one partition chosen per row).
       x.position + CASE WHEN s.existing_id IS NULL THEN 0
                         ELSE coalesce((SELECT max(position) + 1 FROM event_unit l
                                        WHERE l.event_id = s.existing_id
                                          AND l.event_date = s.event_date), 0) END
FROM import_staging s
     CROSS JOIN ROWS FROM (jsonb_to_recordset(s.units) AS (name text, side text, role text))
         WITH ORDINALITY AS x(name, side, role, position)
     JOIN import_unit u ON u.name = x.name AND u.side = x.side
WHERE s.existing_id IS NULL OR %(update)s
ON CONFLICT DO NOTHING
"""
# The event as imported (its fields, sources and units): cheap to build for a million rows.
REVISIONS_FOR_CREATED = """
INSERT INTO revision (event_id, event_date, revision, action, actor, diff)
SELECT s.id, s.event_date, 1, 'import', %(actor)s,
       to_jsonb(s) - ARRAY['line', 'id', 'existing_id', 'old_state', 'region_name']
           || jsonb_build_object('status', 'claimed')
FROM import_staging s WHERE s.existing_id IS NULL
"""
# Rendered from the row (not the stored document): the state the diff starts from is the
# row's own, whatever wrote it.
CAPTURE_OLD_STATE = f"""
UPDATE import_staging s SET old_state = ({EVENT_JSON})::jsonb
FROM event WHERE event.id = s.existing_id
"""

UPDATE_FIELDS = f"""
UPDATE event e SET {STAGED_ASSIGNMENTS}
FROM import_staging s
WHERE e.id = s.existing_id AND {STAGED_DIFFERS}
"""
# What changed, field by field, leaving out the bookkeeping this step itself sets and the
# estimates (derived from the fields and sources that the diff shows).
DIFFS = f"""
DROP TABLE IF EXISTS import_diff;
CREATE TEMP TABLE import_diff ON COMMIT DROP AS
SELECT event.id AS event_id, event.event_date, NULL::text AS rationale, (
    SELECT jsonb_object_agg(new.key, jsonb_build_object('from', old.value, 'to', new.value))
    FROM jsonb_each(({EVENT_JSON})::jsonb) new
    JOIN jsonb_each(s.old_state) old ON old.key = new.key
    WHERE old.value IS DISTINCT FROM new.value
      AND new.key NOT IN ('version', 'updated_at', 'updated_by', 'updated_by_name',
                          'estimates')
) AS diff
FROM event JOIN import_staging s ON s.existing_id = event.id
"""
# A judged event whose content the import changed goes back to claimed, in the same revision,
# as app.events.trust.unjudged does for the other write paths.
UNJUDGE = """
UPDATE import_diff d SET
    diff = d.diff || jsonb_build_object(
        'status', jsonb_build_object('from', s.old_state->'status', 'to', 'claimed')),
    rationale = (SELECT string_agg(k, ', ' ORDER BY k) FROM jsonb_object_keys(d.diff) k
                 WHERE k = ANY(%(substantive)s))
        || ' changed after the event was ' || (s.old_state->>'status')
        || ': back to claimed until another key checks it.'
FROM import_staging s
WHERE s.existing_id = d.event_id AND s.old_state->>'status' <> 'claimed'
  AND d.diff ?| %(substantive)s
"""
# The events the import changed: their versions and revisions, as every change is recorded
# (itk_record_changes, see app/events/recording.py).
RECORD_CHANGED = """
SELECT count(*) FROM (
    SELECT array_agg(event_id) AS ids, array_agg(event_date) AS dates,
           array_agg('import'::text) AS actions, array_agg(diff) AS diffs,
           array_agg(rationale) AS rationales
    FROM import_diff WHERE diff IS NOT NULL) AS changes,
    itk_record_changes(changes.ids, changes.dates, changes.actions, %(actor)s,
                       changes.diffs, changes.rationales, true)
"""


async def create_staging(conn: AsyncConnection[Any]) -> None:
    await conn.execute(STAGING_TABLE)


def copy_staging(cursor: Any) -> AsyncCopy:
    copy: AsyncCopy = cursor.copy(COPY_STAGING)
    return copy


async def check_staging(
    conn: AsyncConnection[Any], reject_existing: bool, update: bool
) -> list[tuple[int, str, str]]:
    """Resolve names and places, then (line, field, message) for every row that cannot go in."""
    problems: list[tuple[int, str, str]] = []
    for number, (field, statement) in enumerate(CHECKS, 1):
        started = time.perf_counter()
        cursor = await conn.execute(statement)
        if field is not None:
            problems += [(line, field, message) for line, message in await cursor.fetchall()]
        log.info("import check %d (%s): %.2f s", number, field or "resolving",
                 time.perf_counter() - started)  # fmt: skip
    await conn.execute(MARK_EXISTING)
    if update:
        await _step(conn, "lock existing", LOCK_EXISTING)
    if reject_existing or update:
        cursor = await conn.execute(EXISTING_ERRORS if reject_existing else DELETED_ERRORS)
        problems += [(line, "external_id", message) for line, message in await cursor.fetchall()]
    if update:
        cursor = await conn.execute(KEPT_ERRORS)
        problems += [(line, "fatalities", message) for line, message in await cursor.fetchall()]
    return sorted(problems)


async def counts(conn: AsyncConnection[Any]) -> tuple[int, int]:
    """(new rows, rows matching an existing event by external_id)."""
    cursor = await conn.execute(COUNTS)
    row = await cursor.fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


async def _step(conn: AsyncConnection[Any], name: str, sql: str, params: Any = None) -> int:
    started = time.perf_counter()
    cursor = await conn.execute(sql, params)
    log.info("import step %s: %d rows in %.2f s", name, cursor.rowcount,
             time.perf_counter() - started)  # fmt: skip
    return cursor.rowcount


async def apply(conn: AsyncConnection[Any], actor: uuid.UUID, update: bool) -> int:
    """Write the staged rows; with update, refresh matching events. Returns how many
    existing events actually changed."""
    params = {"actor": actor, "update": update}
    if update:
        await _step(conn, "capture old state", CAPTURE_OLD_STATE)
    await conn.execute(UNIT_NAMES)
    await _step(conn, "unit names", STAGE_UNIT_NAMES, {"update": update})
    await _step(conn, "units", RESOLVE_UNITS)
    cursor = await conn.execute(UNRESOLVED_UNITS)
    if (row := await cursor.fetchone()) and row[0]:
        # New units are made one transaction at a time, as events make them: the lock is held
        # to the import's commit, so only an import that makes units holds it.
        await conn.execute(gazetteer.ALIAS_LOCK)
        await _step(conn, "units resolved under the lock", RESOLVE_UNITS)
        await _step(conn, "new units", INSERT_UNITS)
        await _step(conn, "new units resolved", RESOLVE_UNITS)
    await _step(conn, "keys", INSERT_KEYS)
    if update:
        await _step(conn, "update fields", UPDATE_FIELDS)
    await _step(conn, "sources", INSERT_SOURCES, params)
    if update:
        await _step(conn, "sources of updated", INSERT_NEW_SOURCES_OF_EXISTING, params)
    await _step(conn, "unit links", INSERT_UNIT_LINKS, {"update": update})
    await _step(conn, "events", INSERT_EVENTS, params)
    await _step(conn, "revisions", REVISIONS_FOR_CREATED, params)
    if not update:
        return 0
    await _step(conn, "diffs", DIFFS)
    await _step(conn, "unjudge", UNJUDGE, {"substantive": list(SUBSTANTIVE_FIELDS)})
    cursor = await conn.execute(RECORD_CHANGED, params)
    row = await cursor.fetchone()
    return int(row[0]) if row else 0
