"""Alembic owns the schema: one baseline, one head, a clean round trip, no drift, one migrator
at a time, append-only history."""

import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from app.core.db import libpq_url, sqlalchemy_url, with_database
from app.core.embedded import ensure_database
from app.core.models import Base
from app.core.schema import alembic_config, code_heads
from migrations.metadata import include_object, load_all_models
from migrations.snapshot import SNAPSHOT_FILE, snapshot_of
from tests.conftest import drop_database

ROOT = Path(__file__).resolve().parent.parent
# The revision databases made before the baseline are at: the baseline keeps its id.
BASELINE = "d6b9e2f4a8c1"

# Two statements: a revision refers to its event through event_key, which the event's
# insert fills when that statement ends.
SEED_EVENT = """
WITH key AS (
    INSERT INTO api_key (name, role, prefix, secret_sha256)
    VALUES ('m', 'admin', 'itk_m', '\\x00') RETURNING id
)
INSERT INTO event (event_date, event_type, sub_event_type, country, region_code,
                   created_by, updated_by)
SELECT '2025-03-01', 'battles', 'armed_clash', 'RU', 'RU-BEL', id, id FROM key;
INSERT INTO revision (event_id, event_date, revision, action, actor, diff)
SELECT id, event_date, 1, 'create', created_by, '{}' FROM event
"""
# What is left in the schema besides alembic_version (and the row types of its table).
LEFT_OVER = """
SELECT 'relation ' || relname FROM pg_class
WHERE relnamespace = current_schema()::regnamespace AND relname NOT LIKE 'alembic_version%%'
UNION ALL
SELECT 'function ' || proname FROM pg_proc WHERE pronamespace = current_schema()::regnamespace
UNION ALL
SELECT 'type ' || typname FROM pg_type
WHERE typnamespace = current_schema()::regnamespace AND typname NOT LIKE '%%alembic_version'
UNION ALL
SELECT 'extension ' || extname FROM pg_extension WHERE extname <> 'plpgsql'
"""


def test_single_head_on_the_baseline():
    scripts = ScriptDirectory.from_config(alembic_config("postgresql://"))
    assert len(scripts.get_heads()) == 1
    assert scripts.get_bases() == [BASELINE]


def test_upgrade_downgrade_upgrade_with_rows(fresh_database_url: str):
    config = alembic_config(fresh_database_url)
    url = libpq_url(fresh_database_url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SEED_EVENT)
        assert conn.execute("SELECT count(*) FROM event").fetchone() == (1,)
    command.downgrade(config, "base")
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute(LEFT_OVER).fetchall() == []
    command.upgrade(config, "head")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SEED_EVENT)
        assert conn.execute("SELECT count(*) FROM event").fetchone() == (1,)
        assert conn.execute("SELECT name FROM region WHERE code = 'RU-BEL'").fetchone() == (
            "Belgorod Oblast",
        )
    # Rows aside, the round trip leaves the schema as a first upgrade makes it.
    assert snapshot_of(fresh_database_url) == SNAPSHOT_FILE.read_text()


# Two graded claims (2 and 10) on the seeded event, which records no fatalities.
SEED_CLAIMS = """
INSERT INTO source_report (event_id, event_date, source_name, reliability, credibility,
                           figures, added_by)
SELECT e.id, e.event_date, s.name, 'B', '2', jsonb_build_object('fatalities', s.dead),
       e.created_by
FROM event e, (VALUES ('Reuters', 2), ('AP', 10)) AS s(name, dead);
SELECT count(*) FROM (SELECT array_agg(id) AS ids, array_agg(event_date) AS dates FROM event) e,
    itk_event_docs(e.ids, e.dates)
"""
ROLLUP_SUMS = """SELECT sum(events), sum(fatalities_low), sum(fatalities_best),
    sum(fatalities_high) FROM event_rollup WHERE grain = 'month'"""


def test_events_from_before_the_stored_estimates_get_them_and_the_rollup_sums(
    fresh_database_url: str,
):
    config = alembic_config(fresh_database_url)
    url = libpq_url(fresh_database_url)
    command.downgrade(config, "a1e6c3f8b4d2")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SEED_EVENT)
        conn.execute(SEED_CLAIMS)
    command.upgrade(config, "b2f7d4a9c1e6")
    with psycopg.connect(url, autocommit=True) as conn:
        stored = conn.execute(
            "SELECT fatalities_low, fatalities_best, fatalities_high, figures_disputed,"
            " (doc::json ->> 'figures_disputed')::boolean FROM event"
        ).fetchone()
        assert stored == (2, 2, 10, True, True)
        assert conn.execute(ROLLUP_SUMS).fetchone() == (1, 2, 2, 10)
        conn.execute("SELECT itk_rollup_compact()")
        assert conn.execute(ROLLUP_SUMS).fetchone() == (1, 2, 2, 10)
        # Deleted, the event leaves the sums (the rollup's trigger knows the new columns).
        conn.execute("UPDATE event SET deleted_at = now()")
        assert conn.execute(ROLLUP_SUMS).fetchone() == (0, 0, 0, 0)
    command.downgrade(config, "a1e6c3f8b4d2")
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM event_rollup").fetchone() == (0,)
    command.upgrade(config, "head")


def test_the_area_rollup_waits_for_a_compactor_and_folds_every_row(fresh_database_url: str):
    """c3a8e5d1f7b9 takes the compactor's advisory lock to its commit (a compactor of a
    process not yet upgraded must not run the old function on the new table): it waits for
    one in progress, then folds every existing row into event_rollup_area."""
    from app.stats.compaction import COMPACTION_LOCK

    config = alembic_config(fresh_database_url)
    url = libpq_url(fresh_database_url)
    command.downgrade(config, "b9e4f2a6c8d1")
    migrate = [sys.executable, "-m", "alembic", "-c", str(ROOT / "alembic.ini"), "upgrade",
               "c3a8e5d1f7b9"]  # fmt: skip
    environment = {**os.environ, "INCIDENTS_DATABASE_URL": fresh_database_url}
    with psycopg.connect(url, autocommit=True) as holder:
        holder.execute(SEED_EVENT)
        holder.execute("SELECT pg_advisory_lock(%s)", (COMPACTION_LOCK,))
        migrator = subprocess.Popen(migrate, cwd=ROOT, env=environment, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while _waiting_for_the_migration_lock(holder) < 1:
            assert migrator.poll() is None, migrator.communicate()[1].decode()
            assert time.monotonic() < deadline, "the migration never waited for the lock"
            time.sleep(0.05)
        holder.execute("SELECT pg_advisory_unlock(%s)", (COMPACTION_LOCK,))
        errors = migrator.communicate(timeout=300)[1].decode()
        assert migrator.returncode == 0, errors
        sums = holder.execute(
            "SELECT grain, sum(events) FROM event_rollup_area GROUP BY grain ORDER BY grain"
        ).fetchall()
        assert sums == [("day", 1), ("month", 1), ("week", 1)]
        assert holder.execute(
            "SELECT count(*) FROM event_rollup WHERE NOT folded"
        ).fetchone() == (0,)  # fmt: skip
    command.upgrade(config, "head")


def test_models_match_migrations(fresh_database_url: str):
    load_all_models()
    engine = create_engine(sqlalchemy_url(fresh_database_url))
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_object": include_object})
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


def _waiting_for_the_migration_lock(conn: psycopg.Connection) -> int:
    row = conn.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    ).fetchone()
    assert row is not None
    return int(row[0])


def test_migrators_of_one_database_take_turns(admin_url: str):
    """Two `alembic upgrade head` on one empty database at once (two deployments starting):
    the second waits for the first, then finds the schema at head."""
    name = f"itk_race_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"
    drop_database(admin_url, name)
    ensure_database(admin_url, name)
    url = with_database(admin_url, name)
    migrate = [sys.executable, "-m", "alembic", "-c", str(ROOT / "alembic.ini"), "upgrade", "head"]
    environment = {**os.environ, "INCIDENTS_DATABASE_URL": url}
    try:
        with psycopg.connect(libpq_url(url), autocommit=True) as holder:
            # Hold the migrators' lock, so that both are seen waiting before either runs.
            holder.execute("SELECT pg_advisory_lock(hashtextextended('alembic', 0))")
            migrators = [
                subprocess.Popen(migrate, cwd=ROOT, env=environment, stderr=subprocess.PIPE)
                for _ in range(2)
            ]
            deadline = time.monotonic() + 120
            while _waiting_for_the_migration_lock(holder) < 2:
                assert all(m.poll() is None for m in migrators), "a migrator did not wait"
                assert time.monotonic() < deadline, "the migrators never reached the lock"
                time.sleep(0.05)
            holder.execute("SELECT pg_advisory_unlock(hashtextextended('alembic', 0))")
            errors = [m.communicate(timeout=300)[1].decode() for m in migrators]
            assert [m.returncode for m in migrators] == [0, 0], errors
            ran = [e.count(f"Running upgrade  -> {BASELINE}") for e in errors]
            assert sorted(ran) == [0, 1], errors
            versions = holder.execute("SELECT version_num FROM alembic_version").fetchall()
            assert versions == [(head,) for head in code_heads()]
    finally:
        drop_database(admin_url, name)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE revision SET rationale = 'rewritten'",
        # Only the event's own trigger moves revisions to another date partition.
        "UPDATE revision SET event_date = event_date + 400",
        "DELETE FROM revision",
        "TRUNCATE revision CASCADE",
        "TRUNCATE revision_default",
        "TRUNCATE revision_y2025",
    ],
)
def test_revisions_cannot_be_altered_by_raw_sql(fresh_database_url: str, statement: str):
    with psycopg.connect(libpq_url(fresh_database_url), autocommit=True) as conn:
        conn.execute(SEED_EVENT)
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute(statement)
        assert conn.execute("SELECT count(*) FROM revision").fetchone() == (1,)
