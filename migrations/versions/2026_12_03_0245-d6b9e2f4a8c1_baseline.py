"""Baseline: the 0.1.0 schema in one step (tables, partitions, indexes, extensions, functions,
triggers and the regions), replacing the revisions written while 0.1.0 was unreleased

It keeps the id of the last of those revisions, so a database already there is at head. What
it creates is checked against migrations/schema.snapshot (tests/test_schema_snapshot.py).
Functions and triggers come from migrations/sql/, the regions from migrations/data/.

Revision ID: d6b9e2f4a8c1
Revises:
Create Date: 2026-12-03 02:45:00+00:00
"""

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from migrations.sql import run_sql

revision: str = "d6b9e2f4a8c1"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EXTENSIONS = ("pg_trgm", "unaccent", "btree_gist", "cube", "earthdistance")
# The keys that generated columns compute: before the tables.
KEY_FUNCTIONS = ("itk_name_key", "itk_names_key", "itk_unit_key", "itk_unit_keys")
# The others, after the tables (a LANGUAGE sql body is checked against them).
FUNCTIONS = (
    "itk_rfc3339",
    "revision_append_only",
    "itk_log_event_changes",
    "itk_rollup_compact",
    "itk_rollup_insert",
    "itk_rollup_update",
    "itk_rollup_delete",
    "itk_event_key_insert",
    "itk_event_key_update",
    "itk_event_key_delete",
    "itk_children_follow_event_date",
    "itk_event_partition",
)
TRIGGERS = (
    "event_changes_insert",
    "event_changes_update",
    "event_rollup_insert",
    "event_rollup_update",
    "event_rollup_delete",
    "event_key_insert",
    "event_key_update",
    "event_key_delete",
    "event_children_follow_date",
    "revision_no_update_delete",
    "revision_no_truncate",
    "reference_change_no_update_delete",
    "reference_change_no_truncate",
)
# Partitioned like event: a default partition each, and the yearly ones of itk_event_partition.
PARTITIONED = ("event", "source_report", "event_unit", "revision", "event_change")
# Ten years back to two ahead; the background task keeps two years ahead from then on.
YEARLY_PARTITIONS = """
DO $$
DECLARE this_year int := extract(year FROM now())::int;
BEGIN
    FOR year IN this_year - 10 .. this_year + 2 LOOP
        PERFORM itk_event_partition(year);
    END LOOP;
END $$
"""
REGIONS = Path(__file__).resolve().parent.parent / "data" / "region.jsonl"


def _timestamp(name: str, **kwargs: Any) -> sa.Column[Any]:
    return sa.Column(name, postgresql.TIMESTAMP(timezone=True), **kwargs)


def _now(name: str) -> sa.Column[Any]:
    return _timestamp(name, server_default=sa.text("now()"), nullable=False)


def _uuid_id() -> sa.Column[Any]:
    return sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False)


def _texts(name: str) -> sa.Column[Any]:
    return sa.Column(
        name, postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False
    )


def _create_gazetteer_and_keys() -> None:
    op.create_table(
        "api_key",
        _uuid_id(),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("prefix", sa.Text(), nullable=False),
        sa.Column("secret_sha256", sa.LargeBinary(), nullable=False),
        _now("created_at"),
        _timestamp("expires_at", nullable=True),
        _timestamp("revoked_at", nullable=True),
        _timestamp("last_used_at", nullable=True),
        sa.CheckConstraint(
            "role IN ('reader', 'analyst', 'verifier', 'admin')", name=op.f("ck_api_key_role")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
        sa.UniqueConstraint("secret_sha256", name=op.f("uq_api_key_secret_sha256")),
    )
    op.create_table(
        "region",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("parent_code", sa.Text(), nullable=True),
        _texts("aliases"),
        sa.Column(
            "names_key",
            sa.Text(),
            sa.Computed("itk_names_key(name, aliases)", persisted=True),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_region")),
    )
    _insert_regions()
    # Indexed after its rows, so that the planner knows the table's size from the start.
    op.create_index(op.f("ix_region_country"), "region", ["country"])
    op.create_table(
        "unit",
        _uuid_id(),
        sa.Column("name", sa.Text(), nullable=False),
        _texts("aliases"),
        sa.Column("side", sa.Text(), nullable=False),
        sa.Column("echelon", sa.Text(), nullable=True),
        sa.Column("parent_id", sa.UUID(), nullable=True),
        _now("created_at"),
        sa.Column(
            "names_key",
            sa.Text(),
            sa.Computed("itk_unit_keys(name, aliases)", persisted=True),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["parent_id"], ["unit.id"], name=op.f("fk_unit_parent_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit")),
    )
    op.create_index(
        "uq_unit_name_side", "unit", [sa.literal_column("lower(name)"), "side"], unique=True
    )
    op.create_index(
        "ix_unit_names_key_trgm",
        "unit",
        ["names_key"],
        postgresql_using="gin",
        postgresql_ops={"names_key": "gin_trgm_ops"},
    )
    op.create_table(
        "place",
        _uuid_id(),
        sa.Column("name", sa.Text(), nullable=False),
        _texts("alt_names"),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("region_code", sa.Text(), nullable=True),
        sa.Column("lat", sa.Double(), nullable=False),
        sa.Column("lon", sa.Double(), nullable=False),
        sa.Column("kind", sa.Text(), server_default="village", nullable=False),
        sa.Column("origin", sa.Text(), server_default="analyst", nullable=False),
        sa.Column("population", sa.Integer(), nullable=True),
        sa.Column("geonames_id", sa.Integer(), nullable=True),
        _now("created_at"),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column(
            "names_key",
            sa.Text(),
            sa.Computed("itk_names_key(name, alt_names)", persisted=True),
            nullable=False,
        ),
        sa.CheckConstraint("origin IN ('geonames', 'analyst')", name=op.f("ck_place_origin")),
        sa.CheckConstraint(
            "lat BETWEEN -90 AND 90 AND lon BETWEEN -180 AND 180", name=op.f("ck_place_coords")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["api_key.id"], name=op.f("fk_place_created_by_api_key")
        ),
        sa.ForeignKeyConstraint(
            ["region_code"], ["region.code"], name=op.f("fk_place_region_code_region")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_place")),
        sa.UniqueConstraint("geonames_id", name=op.f("uq_place_geonames_id")),
    )
    op.create_index(op.f("ix_place_country_region_code"), "place", ["country", "region_code"])
    op.create_index(
        "ix_place_names_key_trgm",
        "place",
        ["names_key"],
        postgresql_using="gin",
        postgresql_ops={"names_key": "gin_trgm_ops"},
    )


def _create_events() -> None:
    # What refers to an event by its id alone refers to event_key (a partitioned table cannot
    # hold a unique key without its partition key); triggers on event keep it in step.
    op.create_table(
        "event_key",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("external_source", sa.Text(), nullable=True),
        sa.Column("external_id", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_key")),
    )
    op.create_index(
        "uq_event_external",
        "event_key",
        ["external_source", "external_id"],
        unique=True,
        postgresql_nulls_not_distinct=True,
        postgresql_where=sa.text("external_id IS NOT NULL"),
    )
    op.create_table(
        "event",
        _uuid_id(),
        sa.Column("external_id", sa.Text(), nullable=True),
        sa.Column("external_source", sa.Text(), nullable=True),
        sa.Column("event_date", sa.Date(), nullable=False),
        sa.Column("date_precision", sa.Text(), server_default="day", nullable=False),
        sa.Column(
            "event_date_end",
            sa.Date(),
            sa.Computed(
                "CASE date_precision WHEN 'week' THEN event_date + 6 WHEN 'month' THEN"
                " (event_date + interval '1 month' - interval '1 day')::date ELSE event_date END",
                persisted=True,
            ),
            nullable=False,
        ),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("sub_event_type", sa.Text(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("region_code", sa.Text(), nullable=True),
        sa.Column("place_id", sa.UUID(), nullable=True),
        sa.Column("location_name", sa.Text(), nullable=True),
        sa.Column("lat", sa.Double(), nullable=True),
        sa.Column("lon", sa.Double(), nullable=True),
        sa.Column("geo_precision", sa.Text(), server_default="exact", nullable=False),
        sa.Column("status", sa.Text(), server_default="claimed", nullable=False),
        sa.Column("fatalities", sa.Integer(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        _texts("tags"),
        sa.Column(
            "search",
            postgresql.TSVECTOR(),
            sa.Computed(
                "to_tsvector('simple'::regconfig,"
                " coalesce(summary, '') || ' ' || coalesce(location_name, ''))",
                persisted=True,
            ),
            nullable=False,
        ),
        _now("created_at"),
        sa.Column("created_by", sa.UUID(), nullable=False),
        _now("updated_at"),
        sa.Column("updated_by", sa.UUID(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        _timestamp("deleted_at", nullable=True),
        sa.Column("merged_into", sa.UUID(), nullable=True),
        sa.Column(
            "location_key",
            sa.Text(),
            sa.Computed("itk_name_key(location_name)", persisted=True),
            nullable=True,
        ),
        sa.CheckConstraint(
            "date_precision IN ('day', 'week', 'month')", name=op.f("ck_event_date_precision")
        ),
        sa.CheckConstraint(
            "geo_precision IN ('exact', 'near', 'region')", name=op.f("ck_event_geo_precision")
        ),
        sa.CheckConstraint(
            "status IN ('claimed', 'verified', 'disputed', 'refuted')", name=op.f("ck_event_status")
        ),
        sa.CheckConstraint(
            "(lat IS NULL) = (lon IS NULL) AND lat BETWEEN -90 AND 90 AND lon BETWEEN -180 AND 180",
            name=op.f("ck_event_coords"),
        ),
        sa.CheckConstraint("fatalities >= 0", name=op.f("ck_event_fatalities")),
        sa.ForeignKeyConstraint(
            ["created_by"], ["api_key.id"], name=op.f("fk_event_created_by_api_key")
        ),
        sa.ForeignKeyConstraint(
            ["merged_into"], ["event_key.id"], name=op.f("fk_event_merged_into_event_key")
        ),
        sa.ForeignKeyConstraint(["place_id"], ["place.id"], name=op.f("fk_event_place_id_place")),
        sa.ForeignKeyConstraint(
            ["region_code"], ["region.code"], name=op.f("fk_event_region_code_region")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["api_key.id"], name=op.f("fk_event_updated_by_api_key")
        ),
        sa.PrimaryKeyConstraint("id", "event_date", name=op.f("pk_event")),
        postgresql_partition_by="RANGE (event_date)",
    )
    for name, columns in [
        ("ix_event_country_event_date", ["country", "event_date"]),
        ("ix_event_event_date_id", ["event_date", "id"]),
        ("ix_event_event_type_sub_event_type", ["event_type", "sub_event_type"]),
        ("ix_event_place_id", ["place_id"]),
        ("ix_event_region_code_event_date", ["region_code", "event_date"]),
        ("ix_event_status", ["status"]),
        ("ix_event_updated_at_id", ["updated_at", "id"]),
    ]:
        op.create_index(name, "event", columns)
    op.create_index(
        "ix_event_earth",
        "event",
        [sa.literal_column("ll_to_earth(lat, lon)")],
        postgresql_using="gist",
    )
    op.create_index(
        "ix_event_point", "event", [sa.literal_column("point(lon, lat)")], postgresql_using="gist"
    )
    op.create_index("ix_event_search", "event", ["search"], postgresql_using="gin")
    op.create_index("ix_event_tags", "event", ["tags"], postgresql_using="gin")
    op.create_index(
        "ix_event_location_key_trgm",
        "event",
        ["location_key"],
        postgresql_using="gin",
        postgresql_ops={"location_key": "gin_trgm_ops"},
    )


def _create_children_of_events() -> None:
    # Each carries its event's event_date (itk_children_follow_event_date keeps it equal) and
    # is partitioned by it, so a year of events with everything that grew with it is one set
    # of partitions. Unique keys include event_date, as PostgreSQL requires.
    op.create_table(
        "source_report",
        _uuid_id(),
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("source_name", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        _timestamp("published_at", nullable=True),
        sa.Column("stance", sa.Text(), server_default="supports", nullable=False),
        sa.Column("excerpt", sa.Text(), nullable=True),
        sa.Column("reliability", sa.String(length=1), server_default="F", nullable=False),
        sa.Column("credibility", sa.String(length=1), server_default="6", nullable=False),
        sa.Column("language", sa.Text(), nullable=True),
        sa.Column(
            "search",
            postgresql.TSVECTOR(),
            sa.Computed(
                "to_tsvector('simple'::regconfig,"
                " coalesce(source_name, '') || ' ' || coalesce(excerpt, ''))",
                persisted=True,
            ),
            nullable=False,
        ),
        sa.Column("added_by", sa.UUID(), nullable=False),
        _now("added_at"),
        # Reports added in one transaction keep their order.
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("event_date", sa.Date(), nullable=False),
        sa.CheckConstraint(
            "credibility IN ('1', '2', '3', '4', '5', '6')",
            name=op.f("ck_source_report_credibility"),
        ),
        sa.CheckConstraint(
            "reliability IN ('A', 'B', 'C', 'D', 'E', 'F')",
            name=op.f("ck_source_report_reliability"),
        ),
        sa.CheckConstraint(
            "stance IN ('supports', 'denies', 'unclear')", name=op.f("ck_source_report_stance")
        ),
        sa.ForeignKeyConstraint(
            ["added_by"], ["api_key.id"], name=op.f("fk_source_report_added_by_api_key")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["event_key.id"],
            name=op.f("fk_source_report_event_id_event_key"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", "event_date", name=op.f("pk_source_report")),
        sa.UniqueConstraint("seq", "event_date", name=op.f("uq_source_report_seq_event_date")),
        postgresql_partition_by="RANGE (event_date)",
    )
    op.create_index(op.f("ix_source_report_event_id"), "source_report", ["event_id"])
    op.create_index("ix_source_report_search", "source_report", ["search"], postgresql_using="gin")
    op.create_index(op.f("ix_source_report_source_name"), "source_report", ["source_name"])
    op.create_table(
        "event_unit",
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("unit_id", sa.UUID(), nullable=False),
        sa.Column("role", sa.Text(), nullable=True),
        sa.Column("position", sa.Integer(), server_default="0", nullable=False),
        sa.Column("event_date", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["event_key.id"],
            name=op.f("fk_event_unit_event_id_event_key"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_event_unit_unit_id_unit")),
        sa.PrimaryKeyConstraint("event_id", "unit_id", "event_date", name=op.f("pk_event_unit")),
        postgresql_partition_by="RANGE (event_date)",
    )
    op.create_index(op.f("ix_event_unit_unit_id"), "event_unit", ["unit_id"])
    op.create_table(
        "revision",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("actor", sa.UUID(), nullable=False),
        _now("at"),
        sa.Column("rationale", sa.Text(), nullable=True),
        sa.Column(
            "diff",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("event_date", sa.Date(), nullable=False),
        sa.CheckConstraint(
            "action IN ('create', 'update', 'status', 'source_added', 'delete', 'restore',"
            " 'merge', 'merged_into', 'import', 'unit_changed', 'unmerge', 'unmerged')",
            name=op.f("ck_revision_action"),
        ),
        sa.ForeignKeyConstraint(["actor"], ["api_key.id"], name=op.f("fk_revision_actor_api_key")),
        sa.ForeignKeyConstraint(
            ["event_id"], ["event_key.id"], name=op.f("fk_revision_event_id_event_key")
        ),
        sa.PrimaryKeyConstraint("id", "event_date", name=op.f("pk_revision")),
        sa.UniqueConstraint(
            "event_id",
            "revision",
            "event_date",
            name=op.f("uq_revision_event_id_revision_event_date"),
        ),
        postgresql_partition_by="RANGE (event_date)",
    )
    # The change feed is read in (xid, seq) order across all dates: partitioned by when the
    # change was written (a UTC year per partition), to be cut by age.
    op.create_table(
        "event_change",
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column(
            "xid",
            sa.BigInteger(),
            server_default=sa.text("(pg_current_xact_id()::text)::bigint"),
            nullable=False,
        ),
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("op", sa.Text(), nullable=False),
        _now("changed_at"),
        sa.CheckConstraint("op IN ('upsert', 'delete')", name=op.f("ck_event_change_op")),
        sa.PrimaryKeyConstraint("seq", "changed_at", name=op.f("pk_event_change")),
        postgresql_partition_by="RANGE (changed_at)",
    )
    op.create_index(op.f("ix_event_change_xid_seq"), "event_change", ["xid", "seq"])


def _create_the_rest() -> None:
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
    op.create_table(
        "idempotency_key",
        sa.Column("api_key_id", sa.UUID(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("request_sha256", sa.LargeBinary(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response_body", sa.LargeBinary(), nullable=False),
        sa.Column("response_headers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        _now("created_at"),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_key.id"], name=op.f("fk_idempotency_key_api_key_id_api_key")
        ),
        sa.PrimaryKeyConstraint("api_key_id", "key", name=op.f("pk_idempotency_key")),
    )
    op.create_index(op.f("ix_idempotency_key_created_at"), "idempotency_key", ["created_at"])
    op.create_table(
        "rate_window",
        sa.Column("api_key_id", sa.UUID(), nullable=False),
        _timestamp("window_start", nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            ["api_key.id"],
            name=op.f("fk_rate_window_api_key_id_api_key"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("api_key_id", "window_start", name=op.f("pk_rate_window")),
    )
    op.create_table(
        "reference_change",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("ref", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("actor", sa.UUID(), nullable=False),
        _now("at"),
        sa.Column("before", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("after", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.CheckConstraint(
            "action IN ('create', 'update')", name=op.f("ck_reference_change_action")
        ),
        sa.CheckConstraint("kind IN ('region', 'unit')", name=op.f("ck_reference_change_kind")),
        sa.ForeignKeyConstraint(
            ["actor"], ["api_key.id"], name=op.f("fk_reference_change_actor_api_key")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reference_change")),
    )
    op.create_index(
        op.f("ix_reference_change_kind_ref_id"), "reference_change", ["kind", "ref", "id"]
    )


def _insert_regions() -> None:
    """Every ISO 3166-2 subdivision (pycountry's, when 0.1.0 was made), the border regions of
    RU, UA and BY named as analysts write them in English, with their aliases."""
    with REGIONS.open(encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines]
    # One statement (`alembic upgrade --sql` can write it too), in the file's order: the order
    # in which databases migrated by the revisions this one replaces hold them.
    op.execute(
        sa.text(
            "INSERT INTO region (code, country, name, type, parent_code, aliases)"
            " SELECT code, country, name, type, parent_code, aliases"
            " FROM ROWS FROM (jsonb_to_recordset(CAST(:rows AS jsonb)) AS (code text,"
            " country text, name text, type text, parent_code text, aliases text[]))"
            " WITH ORDINALITY AS r(code, country, name, type, parent_code, aliases, n)"
            " ORDER BY n"
        ).bindparams(rows=json.dumps(rows, ensure_ascii=False))
    )


def upgrade() -> None:
    for extension in EXTENSIONS:
        op.execute(f"CREATE EXTENSION IF NOT EXISTS {extension}")
    for function in KEY_FUNCTIONS:
        run_sql(f"functions/{function}")
    _create_gazetteer_and_keys()
    _create_events()
    _create_children_of_events()
    _create_the_rest()
    for function in FUNCTIONS:
        run_sql(f"functions/{function}")
    for table in PARTITIONED:
        op.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
    for trigger in TRIGGERS:
        run_sql(f"triggers/{trigger}")
    op.execute(YEARLY_PARTITIONS)
    # Empty but analyzed: the planner takes them for empty, not for tables of unknown size.
    op.execute(f"ANALYZE {', '.join(PARTITIONED)}")


def downgrade() -> None:
    # Partitions, indexes and triggers go with their tables.
    for table in (
        "reference_change",
        "rate_window",
        "idempotency_key",
        "event_rollup",
        "event_change",
        "revision",
        "event_unit",
        "source_report",
        "event",
        "event_key",
        "place",
        "unit",
        "region",
        "api_key",
    ):
        op.drop_table(table)
    for function in reversed(KEY_FUNCTIONS + FUNCTIONS):
        op.execute(f"DROP FUNCTION {function}")
    for extension in reversed(EXTENSIONS):
        op.execute(f"DROP EXTENSION IF EXISTS {extension}")
