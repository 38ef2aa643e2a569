"""The schema as a sorted text, the same on every supported PostgreSQL (15 to 18), so that a
checked-in copy (migrations/schema.snapshot) shows every change a migration makes and
tests/test_schema_snapshot.py fails on drift.

Built from catalog queries, not pg_dump (whose output changes between versions and which may
not be installed). What differs between versions, or from day to day, is left out or
normalised:

- extension versions, and the objects extensions own;
- NOT NULL constraints as catalog rows (PostgreSQL 18 has them; nullability is on the column);
- identity on partitions (PostgreSQL 17 and later give partitions their parent's identity);
- the qualifiers of columns in the query of a view that reads one relation (15 prints them);
- owners, grants and the database's name;
- the yearly partitions (`event_y2026`, …), whose set depends on today's date: their names
  read `event_y<year>` and identical ones appear once, and one line per partitioned table
  gives their years relative to the current one.

A table whose size the planner knows (analyzed, or indexed with rows in it) says so: an
empty table never analyzed is planned as one of unknown size. Seed data (regions) appears as
a row count and an md5 of the rows.

    python -m migrations.snapshot --write     # migrate a scratch database, rewrite the file
    python -m migrations.snapshot             # the same, to stdout
    python -m migrations.snapshot --url URL   # an existing database, as it is

The scratch database is made on INCIDENTS_TEST_DATABASE_URL's server if set, else on a
temporary embedded PostgreSQL.
"""

import argparse
import datetime as dt
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import namedtuple_row

SNAPSHOT_FILE = Path(__file__).resolve().parent / "schema.snapshot"
REGENERATE = "python -m migrations.snapshot --write"
# Tables whose rows are part of the schema: the migrations fill them.
SEED_TABLES = {"region": "code"}
YEARLY = re.compile(r"^(?P<parent>\w+)_y(?P<year>\d{4})$")

RELATIONS = """
SELECT c.oid, c.relname AS name, c.relkind AS kind, c.relpersistence AS persistence,
       c.reloptions AS options, c.relrowsecurity AS rls, c.reltuples >= 0 AS sized,
       c.relispartition AS partition, p.relname AS parent, pg_get_expr(c.relpartbound, c.oid) AS bound,
       CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partkey,
       obj_description(c.oid, 'pg_class') AS comment,
       CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END AS query
FROM pg_class c
LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
LEFT JOIN pg_class p ON p.oid = i.inhparent
WHERE c.relnamespace = %(schema)s::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')
  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                  AND d.objid = c.oid AND d.deptype = 'e')
"""
COLUMNS = """
SELECT a.attrelid, row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum) AS position,
       a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull, a.attidentity,
       a.attgenerated, pg_get_expr(d.adbin, d.adrelid) AS expression,
       CASE WHEN a.attcollation <> t.typcollation THEN co.collname END AS collation,
       col_description(a.attrelid, a.attnum) AS comment
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
LEFT JOIN pg_collation co ON co.oid = a.attcollation
WHERE a.attrelid = ANY(%(relations)s) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum
"""
CONSTRAINTS = """
SELECT c.conrelid, c.conname, pg_get_constraintdef(c.oid) AS definition
FROM pg_constraint c
WHERE c.conrelid = ANY(%(relations)s) AND c.contype IN ('c', 'f', 'p', 'u', 'x', 't')
"""
INDEXES = """
SELECT i.indrelid, x.relname, pg_get_indexdef(i.indexrelid) AS definition,
       px.relname AS parent
FROM pg_index i
JOIN pg_class x ON x.oid = i.indexrelid
LEFT JOIN pg_inherits h ON h.inhrelid = i.indexrelid
LEFT JOIN pg_class px ON px.oid = h.inhparent
WHERE i.indrelid = ANY(%(relations)s)
"""
TRIGGERS = """
SELECT t.tgrelid, t.tgname, pg_get_triggerdef(t.oid) AS definition, t.tgenabled
FROM pg_trigger t
WHERE t.tgrelid = ANY(%(relations)s) AND NOT t.tgisinternal
"""
POLICIES = """
SELECT p.polrelid, p.polname, p.polcmd, p.polpermissive, pg_get_expr(p.polqual, p.polrelid),
       pg_get_expr(p.polwithcheck, p.polrelid)
FROM pg_policy p WHERE p.polrelid = ANY(%(relations)s)
"""
STATISTICS = """
SELECT s.stxrelid, pg_get_statisticsobjdef(s.oid) FROM pg_statistic_ext s
WHERE s.stxrelid = ANY(%(relations)s)
"""
SEQUENCES = """
SELECT c.relname, format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, s.seqmin,
       s.seqmax, s.seqcache, s.seqcycle, d.deptype, t.relname, a.attname
FROM pg_sequence s
JOIN pg_class c ON c.oid = s.seqrelid
LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid
     AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
LEFT JOIN pg_class t ON t.oid = d.refobjid
LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
WHERE c.relnamespace = %(schema)s::regnamespace
  AND NOT EXISTS (SELECT FROM pg_depend e WHERE e.classid = 'pg_class'::regclass
                  AND e.objid = c.oid AND e.deptype = 'e')
"""
FUNCTIONS = """
SELECT p.oid::regprocedure::text, pg_get_functiondef(p.oid),
       obj_description(p.oid, 'pg_proc')
FROM pg_proc p
WHERE p.pronamespace = %(schema)s::regnamespace AND p.prokind IN ('f', 'p')
  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                  AND d.objid = p.oid AND d.deptype = 'e')
"""
TYPES = """
SELECT t.typname, t.typtype, format_type(t.typbasetype, t.typtypmod), t.typnotnull,
       t.typdefault,
       (SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder)
        FROM pg_enum e WHERE e.enumtypid = t.oid),
       (SELECT string_agg(pg_get_constraintdef(c.oid), ' ' ORDER BY c.conname)
        FROM pg_constraint c WHERE c.contypid = t.oid)
FROM pg_type t
WHERE t.typnamespace = %(schema)s::regnamespace AND t.typtype IN ('e', 'd')
  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_type'::regclass
                  AND d.objid = t.oid AND d.deptype = 'e')
"""
EXTENSIONS = """
SELECT e.extname, n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE e.extname <> 'plpgsql'
"""


class _Normaliser:
    """Replaces yearly partition names (and the names PostgreSQL derives from them) by
    `<parent>_y<year>`, and their bounds by the same year-free form."""

    def __init__(self, parents: set[str]) -> None:
        self.pattern = (
            re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(sorted(parents)) + r")_y(\d{4})(?!\d)")
            if parents
            else None
        )

    def __call__(self, text: str) -> str:
        if self.pattern is None:
            return text
        return self.pattern.sub(r"\1_y<year>", text)

    def bound(self, name: str, bound: str) -> str:
        match = YEARLY.match(name)
        if match is None:
            return bound
        year = int(match["year"])
        return bound.replace(str(year + 1), "<year+1>").replace(str(year), "<year>")


def _view_query(conn: psycopg.Connection[Any], oid: int, query: str) -> str:
    """A view's query as PostgreSQL 16 and later print it: before 16, the columns of a view
    that reads one relation are qualified with its name ("region.code"); from 16, not.
    (A view reading one relation at its top level and others in subqueries is not handled:
    should one differ between versions, extend this.)"""
    if conn.info.server_version >= 160000:
        return query
    relations = conn.execute(
        "SELECT count(DISTINCT d.refobjid) FROM pg_rewrite r JOIN pg_depend d ON d.objid = r.oid"
        " WHERE d.classid = 'pg_rewrite'::regclass AND r.ev_class = %s"
        " AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> %s",
        (oid, oid),
    ).fetchone()
    source = re.search(r"\bFROM\s+(?:\w+\.)?(\w+)(?:\s+(?!WHERE\b|GROUP\b|ORDER\b)(\w+))?", query)
    if relations is None or relations[0] != 1 or source is None:
        return query
    alias = source[2] or source[1]
    return re.sub(rf"(?<![\w.]){re.escape(alias)}\.(?=\w)", "", query)


def schema_snapshot(conn: psycopg.Connection[Any]) -> str:
    """The snapshot of the current schema of the connected database."""
    schema = conn.execute("SELECT current_schema()").fetchone()
    assert schema is not None
    # Names print schema-qualified, timestamps in UTC, whatever the role's settings.
    conn.execute("SELECT set_config('search_path', '', false)")
    conn.execute("SET TimeZone = 'UTC'")
    conn.execute("SET DateStyle = 'ISO, YMD'")
    conn.execute("SET IntervalStyle = 'postgres'")
    conn.execute("SET extra_float_digits = 1")
    params: dict[str, Any] = {"schema": schema[0]}
    blocks: set[tuple[str, str]] = set()

    for name, namespace in conn.execute(EXTENSIONS):
        blocks.add(("0 extension", f"extension {name} in schema {namespace}"))

    with conn.cursor(row_factory=namedtuple_row) as cursor:
        relations: list[Any] = cursor.execute(RELATIONS, params).fetchall()
    params["relations"] = [r.oid for r in relations]
    is_partition = {r.oid: r.partition for r in relations}
    parents = {m["parent"] for r in relations if r.partition and (m := YEARLY.match(r.name))}
    normalise = _Normaliser(parents)

    lines: dict[int, list[str]] = {r.oid: [] for r in relations}
    for (
        oid,
        position,
        column,
        type_,
        not_null,
        identity,
        generated,
        expression,
        collation,
        comment,
    ) in conn.execute(COLUMNS, params):
        line = f"  column {position} {column} {type_}"
        if collation:
            line += f" collate {collation}"
        if not_null:
            line += " not null"
        if generated == "s":
            line += f" generated always as ({expression}) stored"
        elif generated:
            line += f" generated always as ({expression}) {generated!r}"
        elif expression is not None:
            line += f" default {expression}"
        if identity and not is_partition[oid]:
            line += " identity " + {"a": "always", "d": "by default"}[identity]
        if comment:
            line += f" comment {comment!r}"
        lines[oid].append(line)
    for oid, name, definition in sorted(conn.execute(CONSTRAINTS, params), key=lambda r: r[1]):
        lines[oid].append(f"  constraint {name} {definition}")
    for oid, name, definition, parent in sorted(conn.execute(INDEXES, params), key=lambda r: r[1]):
        attached = f" (partition of index {parent})" if parent else ""
        lines[oid].append(f"  index {name}{attached}: {definition}")
    for oid, name, definition, enabled in sorted(
        conn.execute(TRIGGERS, params), key=lambda r: r[1]
    ):
        state = "" if enabled == "O" else f" (enabled {enabled!r})"
        lines[oid].append(f"  trigger {name}{state}: {definition}")
    for oid, *policy in conn.execute(POLICIES, params):
        lines[oid].append(f"  policy {policy}")
    for oid, definition in conn.execute(STATISTICS, params):
        lines[oid].append(f"  statistics {definition}")

    kinds = {"r": "table", "p": "partitioned table", "v": "view", "m": "materialized view"}
    for r in relations:
        head = f"{kinds[r.kind]} {r.name}"
        if r.sized and r.kind in "rp":
            # Analyzed (or indexed with rows in it): the planner takes its size as it is, not
            # for a guess that can choose other plans (a parallel COPY of an empty event).
            head += " (size known)"
        if r.partkey:
            head += f" partition by {r.partkey}"
        if r.parent:
            head += f" partition of {r.parent} {normalise.bound(r.name, r.bound)}"
        if r.persistence != "p":
            head += f" persistence {r.persistence}"
        if r.options:
            head += f" with {sorted(r.options)}"
        if r.rls:
            head += " row level security"
        if r.comment:
            head += f" comment {r.comment!r}"
        query = _view_query(conn, r.oid, r.query.strip()) if r.query else None
        body = lines[r.oid] + ([f"  as {query}"] if query else [])
        blocks.add((f"1 relation {normalise(r.name)}", normalise("\n".join([head, *body]))))

    this_year = conn.execute("SELECT extract(year FROM now())::int").fetchone()
    assert this_year is not None
    for parent in sorted(parents):
        years = sorted(
            int(match["year"])
            for r in relations
            if r.parent == parent and (match := YEARLY.match(r.name))
        )
        consecutive = years == list(range(years[0], years[-1] + 1))
        span = f"the current year{years[0] - this_year[0]:+d} to {years[-1] - this_year[0]:+d}"
        blocks.add(
            (
                f"2 yearly {parent}",
                f"yearly partitions of {parent}: {span}"
                + ("" if consecutive else f", not consecutive: {years}"),
            )
        )

    for (
        name,
        type_,
        start,
        increment,
        low,
        high,
        cache,
        cycle,
        deptype,
        table,
        column,
    ) in conn.execute(SEQUENCES, params):
        owner = {"a": f" owned by {table}.{column}", "i": f" identity of {table}.{column}"}
        blocks.add(
            (
                f"3 sequence {name}",
                f"sequence {normalise(name)} {type_} start {start} increment {increment}"
                f" min {low} max {high} cache {cache}{' cycle' if cycle else ''}"
                f"{normalise(owner.get(deptype, ''))}",
            )
        )

    for name, kind, base, not_null, default, labels, checks in conn.execute(TYPES, params):
        text = f"enum {name} ({labels})" if kind == "e" else f"domain {name} {base}"
        if not_null:
            text += " not null"
        if default:
            text += f" default {default}"
        if checks:
            text += f" {checks}"
        blocks.add((f"4 type {name}", text))

    for signature, definition, comment in conn.execute(FUNCTIONS, params):
        text = f"function {signature}\n{definition.rstrip()}"
        if comment:
            text += f"\n-- comment {comment!r}"
        blocks.add((f"5 function {signature}", text))

    for table, key in SEED_TABLES.items():
        if to_regclass(conn, table):
            row = conn.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t.{key}), ''))"
                f" FROM {schema[0]}.{table} t"
            ).fetchone()
            assert row is not None
            blocks.add((f"6 data {table}", f"data {table}: {row[0]} rows, md5 {row[1]}"))

    return "\n\n".join(text for _, text in sorted(blocks)) + "\n"


def to_regclass(conn: psycopg.Connection[Any], name: str) -> bool:
    row = conn.execute("SELECT to_regclass(current_schema() || '.' || %s)", (name,)).fetchone()
    return row is not None and row[0] is not None


def snapshot_of(url: str) -> str:
    """The snapshot of the database at `url`, as it is."""
    from app.core.db import libpq_url

    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        return schema_snapshot(conn)


@contextmanager
def _server() -> Iterator[str]:
    """An admin URL: INCIDENTS_TEST_DATABASE_URL's server, or a temporary embedded one."""
    configured = os.environ.get("INCIDENTS_TEST_DATABASE_URL")
    if configured:
        yield configured
        return
    from app.core.embedded import EmbeddedServer

    with tempfile.TemporaryDirectory(prefix="itk-snapshot-") as folder:
        server = EmbeddedServer(Path(folder))
        try:
            yield server.start()
        finally:
            server.stop()


def migrated_snapshot() -> str:
    """The snapshot of a scratch database migrated to head."""
    from app.core.db import libpq_url, with_database
    from app.core.embedded import ensure_database
    from app.core.schema import upgrade_to_head

    name = f"itk_snapshot_{os.getpid()}_{dt.datetime.now(dt.UTC):%H%M%S%f}"
    with _server() as admin_url:
        ensure_database(admin_url, name)
        try:
            url = with_database(admin_url, name)
            upgrade_to_head(url)
            return snapshot_of(url)
        finally:
            with psycopg.connect(libpq_url(admin_url), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m migrations.snapshot", description=__doc__)
    parser.add_argument("--url", help="snapshot this database as it is (no migration)")
    parser.add_argument("--write", action="store_true", help=f"write {SNAPSHOT_FILE.name}")
    args = parser.parse_args(argv)
    text = snapshot_of(args.url) if args.url else migrated_snapshot()
    if args.write:
        SNAPSHOT_FILE.write_text(text)
        print(f"wrote {SNAPSHOT_FILE}", file=sys.stderr)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
