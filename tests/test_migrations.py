"""Alembic owns the schema: one head, a clean round trip, no drift, append-only history."""

import psycopg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from app.core.db import libpq_url, sqlalchemy_url
from app.core.models import Base
from app.core.schema import alembic_config
from migrations.metadata import include_object, load_all_models

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


def test_single_head():
    heads = ScriptDirectory.from_config(alembic_config("postgresql://")).get_heads()
    assert len(heads) == 1


def test_upgrade_downgrade_upgrade_with_rows(fresh_database_url: str):
    config = alembic_config(fresh_database_url)
    with psycopg.connect(libpq_url(fresh_database_url), autocommit=True) as conn:
        conn.execute(SEED_EVENT)
        assert conn.execute("SELECT count(*) FROM event").fetchone() == (1,)
    command.downgrade(config, "base")
    with psycopg.connect(libpq_url(fresh_database_url), autocommit=True) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM pg_tables"
            " WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
        ).fetchone()
        assert tables == (0,)
    command.upgrade(config, "head")
    with psycopg.connect(libpq_url(fresh_database_url), autocommit=True) as conn:
        conn.execute(SEED_EVENT)
        assert conn.execute("SELECT count(*) FROM event").fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM region WHERE code = 'RU-BEL'").fetchone() == (1,)


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


def test_unit_changed_revisions_downgrade_to_updates_and_stay_append_only(
    fresh_database_url: str,
):
    config = alembic_config(fresh_database_url)
    url = libpq_url(fresh_database_url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SEED_EVENT)
        conn.execute(
            "INSERT INTO revision (event_id, event_date, revision, action, actor, diff)"
            " SELECT event_id, event_date, 2, 'unit_changed', actor,"
            ' \'{"units": {"from": [], "to": []}}\' FROM revision'
        )
    command.downgrade(config, "f2a8c4e6b9d1")
    with psycopg.connect(url, autocommit=True) as conn:
        actions = conn.execute("SELECT action FROM revision ORDER BY revision").fetchall()
        assert actions == [("create",), ("update",)]
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute("UPDATE revision SET rationale = 'rewritten'")
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(
                "INSERT INTO revision (event_id, event_date, revision, action, actor)"
                " SELECT event_id, event_date, 3, 'unit_changed', actor FROM revision LIMIT 1"
            )
    command.upgrade(config, "head")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO revision (event_id, event_date, revision, action, actor)"
            " SELECT event_id, event_date, 3, 'unit_changed', actor FROM revision LIMIT 1"
        )
