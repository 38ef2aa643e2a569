"""The migrated schema is the one checked in (migrations/schema.snapshot), on every supported
PostgreSQL; each database function and trigger is defined by one file of migrations/sql/, and
the rendered ones are current with their Python vocabularies."""

import difflib
from pathlib import Path

import psycopg

from app.core.db import libpq_url
from migrations.snapshot import REGENERATE, SNAPSHOT_FILE, snapshot_of
from migrations.sql import GENERATED, SQL_DIR, latest, read_sql, stale

FUNCTIONS_OF_THE_SCHEMA = """
SELECT p.proname, pg_get_functiondef(p.oid) FROM pg_proc p
WHERE p.pronamespace = %s::regnamespace
  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                  AND d.objid = p.oid AND d.deptype = 'e')
"""


def test_the_migrated_schema_is_the_snapshot(fresh_database_url: str):
    expected = SNAPSHOT_FILE.read_text()
    actual = snapshot_of(fresh_database_url)
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                "migrations/schema.snapshot",
                "migrated database",
                n=2,
            )
        )
        lines = diff.splitlines()
        shown = "\n".join(lines[:80] + ([f"… {len(lines) - 80} more lines"] if lines[80:] else []))
        raise AssertionError(
            "The migrated schema is not migrations/schema.snapshot. If a migration changed it "
            f"on purpose, run `{REGENERATE}` and commit the file; if not, the migrations "
            f"drifted:\n{shown}"
        )


def _latest_files(folder: str) -> set[str]:
    """The latest version of each file in migrations/sql/<folder>/ ("functions/x.v2")."""
    return {
        latest(f"{folder}/{_function_name(path.stem)}") for path in (SQL_DIR / folder).glob("*.sql")
    }


def _function_name(file: str) -> str:
    return Path(file).name.split(".v")[0]


def test_each_function_is_the_latest_version_of_its_sql_file(fresh_database_url: str):
    """Every function of the schema has a file in migrations/sql/functions/, and the database
    at head runs that file's latest version, word for word."""
    files = {_function_name(name): name for name in _latest_files("functions")}
    with psycopg.connect(libpq_url(fresh_database_url)) as conn:
        schema = conn.execute("SELECT current_schema()").fetchone()
        assert schema is not None
        deployed = dict(conn.execute(FUNCTIONS_OF_THE_SCHEMA, schema).fetchall())
        assert sorted(deployed) == sorted(files)
        # Each file again, into a schema of its own (rolled back), to compare the two.
        conn.execute("CREATE SCHEMA itk_sql_files")
        conn.execute(f"SET LOCAL search_path = itk_sql_files, {schema[0]}")
        for file in files.values():
            conn.execute(read_sql(file))
        loaded = dict(conn.execute(FUNCTIONS_OF_THE_SCHEMA, ("itk_sql_files",)).fetchall())
        conn.rollback()
    for name, definition in deployed.items():
        from_file = loaded[name].replace("itk_sql_files.", f"{schema[0]}.", 1)
        assert definition == from_file, f"{name} is not migrations/sql/{files[name]}.sql"


def test_each_trigger_has_its_sql_file(fresh_database_url: str):
    files = {_function_name(name) for name in _latest_files("triggers")}
    with psycopg.connect(libpq_url(fresh_database_url)) as conn:
        triggers = {
            name
            for (name,) in conn.execute(
                "SELECT DISTINCT tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
                " WHERE c.relnamespace = current_schema()::regnamespace AND NOT t.tgisinternal"
            )
        }
    assert triggers == files


def test_rendered_functions_are_current_with_their_vocabularies():
    behind = stale()
    assert behind == [], (
        f"{', '.join(f'{name} ({GENERATED[name][0]})' for name in behind)}: the vocabulary "
        "changed; run `python -m migrations.sql render` and load the new version file from a "
        "new migration (migrations/README.md)"
    )
