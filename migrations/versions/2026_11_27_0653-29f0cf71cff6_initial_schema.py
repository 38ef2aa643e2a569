"""initial schema: events, sources, units, gazetteer, keys, revisions

Revision ID: 29f0cf71cff6
Revises:
Create Date: 2026-11-27 06:53:44.227301+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from migrations.regions import region_rows

revision: str = "29f0cf71cff6"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


EXTENSIONS = ("pg_trgm", "unaccent", "btree_gist", "cube", "earthdistance")


def upgrade() -> None:
    for extension in EXTENSIONS:
        op.execute(f"CREATE EXTENSION IF NOT EXISTS {extension}")
    op.create_table(
        "api_key",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("prefix", sa.Text(), nullable=False),
        sa.Column("secret_sha256", sa.LargeBinary(), nullable=False),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("revoked_at", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("last_used_at", postgresql.TIMESTAMP(timezone=True), nullable=True),
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
        sa.Column(
            "aliases", postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_region")),
    )
    op.create_index(op.f("ix_region_country"), "region", ["country"], unique=False)
    op.create_table(
        "unit",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "aliases", postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False
        ),
        sa.Column("side", sa.Text(), nullable=False),
        sa.Column("echelon", sa.Text(), nullable=True),
        sa.Column("parent_id", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["parent_id"], ["unit.id"], name=op.f("fk_unit_parent_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit")),
    )
    op.create_index(
        "uq_unit_name_side", "unit", [sa.literal_column("lower(name)"), "side"], unique=True
    )
    op.create_table(
        "place",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "alt_names", postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False
        ),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("region_code", sa.Text(), nullable=True),
        sa.Column("lat", sa.Double(), nullable=False),
        sa.Column("lon", sa.Double(), nullable=False),
        sa.Column("kind", sa.Text(), server_default="village", nullable=False),
        sa.Column("origin", sa.Text(), server_default="analyst", nullable=False),
        sa.Column("population", sa.Integer(), nullable=True),
        sa.Column("geonames_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("created_by", sa.UUID(), nullable=True),
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
    op.create_index(
        op.f("ix_place_country_region_code"), "place", ["country", "region_code"], unique=False
    )
    op.create_table(
        "event",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("external_id", sa.Text(), nullable=True),
        sa.Column("external_source", sa.Text(), nullable=True),
        sa.Column("event_date", sa.Date(), nullable=False),
        sa.Column("date_precision", sa.Text(), server_default="day", nullable=False),
        sa.Column(
            "event_date_end",
            sa.Date(),
            sa.Computed(
                "CASE date_precision WHEN 'week' THEN event_date + 6 WHEN 'month' THEN (event_date + interval '1 month' - interval '1 day')::date ELSE event_date END",
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
        sa.Column(
            "tags", postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False
        ),
        sa.Column(
            "search",
            postgresql.TSVECTOR(),
            sa.Computed(
                "to_tsvector('simple'::regconfig, coalesce(summary, '') || ' ' || coalesce(location_name, ''))",
                persisted=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("created_by", sa.UUID(), nullable=False),
        sa.Column(
            "updated_at",
            postgresql.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("updated_by", sa.UUID(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("deleted_at", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("merged_into", sa.UUID(), nullable=True),
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
            ["merged_into"], ["event.id"], name=op.f("fk_event_merged_into_event")
        ),
        sa.ForeignKeyConstraint(["place_id"], ["place.id"], name=op.f("fk_event_place_id_place")),
        sa.ForeignKeyConstraint(
            ["region_code"], ["region.code"], name=op.f("fk_event_region_code_region")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["api_key.id"], name=op.f("fk_event_updated_by_api_key")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event")),
    )
    op.create_index(
        op.f("ix_event_country_event_date"), "event", ["country", "event_date"], unique=False
    )
    op.create_index(
        "ix_event_earth",
        "event",
        [sa.literal_column("ll_to_earth(lat, lon)")],
        unique=False,
        postgresql_using="gist",
    )
    op.create_index(op.f("ix_event_event_date_id"), "event", ["event_date", "id"], unique=False)
    op.create_index(
        op.f("ix_event_event_type_sub_event_type"),
        "event",
        ["event_type", "sub_event_type"],
        unique=False,
    )
    op.create_index(op.f("ix_event_place_id"), "event", ["place_id"], unique=False)
    op.create_index(
        "ix_event_point",
        "event",
        [sa.literal_column("point(lon, lat)")],
        unique=False,
        postgresql_using="gist",
    )
    op.create_index(
        op.f("ix_event_region_code_event_date"),
        "event",
        ["region_code", "event_date"],
        unique=False,
    )
    op.create_index("ix_event_search", "event", ["search"], unique=False, postgresql_using="gin")
    op.create_index(op.f("ix_event_status"), "event", ["status"], unique=False)
    op.create_index("ix_event_tags", "event", ["tags"], unique=False, postgresql_using="gin")
    op.create_index(op.f("ix_event_updated_at_id"), "event", ["updated_at", "id"], unique=False)
    op.create_index(
        "uq_event_external",
        "event",
        ["external_source", "external_id"],
        unique=True,
        postgresql_nulls_not_distinct=True,
        postgresql_where=sa.text("external_id IS NOT NULL"),
    )
    op.create_table(
        "event_unit",
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("unit_id", sa.UUID(), nullable=False),
        sa.Column("role", sa.Text(), nullable=True),
        sa.Column("position", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["event.id"],
            name=op.f("fk_event_unit_event_id_event"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_event_unit_unit_id_unit")),
        sa.PrimaryKeyConstraint("event_id", "unit_id", name=op.f("pk_event_unit")),
    )
    op.create_index(op.f("ix_event_unit_unit_id"), "event_unit", ["unit_id"], unique=False)
    op.create_table(
        "revision",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("actor", sa.UUID(), nullable=False),
        sa.Column(
            "at",
            postgresql.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("rationale", sa.Text(), nullable=True),
        sa.Column(
            "diff",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "action IN ('create', 'update', 'status', 'source_added', 'delete', 'restore', 'merge', 'merged_into', 'import')",
            name=op.f("ck_revision_action"),
        ),
        sa.ForeignKeyConstraint(["actor"], ["api_key.id"], name=op.f("fk_revision_actor_api_key")),
        sa.ForeignKeyConstraint(
            ["event_id"], ["event.id"], name=op.f("fk_revision_event_id_event")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_revision")),
        sa.UniqueConstraint("event_id", "revision", name=op.f("uq_revision_event_id_revision")),
    )
    op.create_table(
        "source_report",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("source_name", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("published_at", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("stance", sa.Text(), server_default="supports", nullable=False),
        sa.Column("excerpt", sa.Text(), nullable=True),
        sa.Column("reliability", sa.String(length=1), server_default="F", nullable=False),
        sa.Column("credibility", sa.String(length=1), server_default="6", nullable=False),
        sa.Column("language", sa.Text(), nullable=True),
        sa.Column(
            "search",
            postgresql.TSVECTOR(),
            sa.Computed(
                "to_tsvector('simple'::regconfig, coalesce(source_name, '') || ' ' || coalesce(excerpt, ''))",
                persisted=True,
            ),
            nullable=False,
        ),
        sa.Column("added_by", sa.UUID(), nullable=False),
        sa.Column(
            "added_at",
            postgresql.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
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
            ["event.id"],
            name=op.f("fk_source_report_event_id_event"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source_report")),
    )
    op.create_index(op.f("ix_source_report_event_id"), "source_report", ["event_id"], unique=False)
    op.create_index(
        "ix_source_report_search", "source_report", ["search"], unique=False, postgresql_using="gin"
    )
    op.create_index(
        op.f("ix_source_report_source_name"), "source_report", ["source_name"], unique=False
    )
    # The history is append-only, whoever connects: refuse UPDATE, DELETE and TRUNCATE.
    op.execute(
        """
        CREATE FUNCTION revision_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'revision rows are append-only (% refused)', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER revision_no_update_delete BEFORE UPDATE OR DELETE ON revision "
        "FOR EACH ROW EXECUTE FUNCTION revision_append_only()"
    )
    op.execute(
        "CREATE TRIGGER revision_no_truncate BEFORE TRUNCATE ON revision "
        "FOR EACH STATEMENT EXECUTE FUNCTION revision_append_only()"
    )

    region = sa.table(
        "region",
        sa.column("code", sa.Text),
        sa.column("country", sa.Text),
        sa.column("name", sa.Text),
        sa.column("type", sa.Text),
        sa.column("parent_code", sa.Text),
        sa.column("aliases", postgresql.ARRAY(sa.Text)),
    )
    op.bulk_insert(region, region_rows())


def downgrade() -> None:
    op.drop_index(op.f("ix_source_report_source_name"), table_name="source_report")
    op.drop_index("ix_source_report_search", table_name="source_report", postgresql_using="gin")
    op.drop_index(op.f("ix_source_report_event_id"), table_name="source_report")
    op.drop_table("source_report")
    op.execute("DROP TRIGGER revision_no_truncate ON revision")
    op.execute("DROP TRIGGER revision_no_update_delete ON revision")
    op.drop_table("revision")
    op.drop_index(op.f("ix_event_unit_unit_id"), table_name="event_unit")
    op.drop_table("event_unit")
    op.drop_index(
        "uq_event_external",
        table_name="event",
        postgresql_nulls_not_distinct=True,
        postgresql_where=sa.text("external_id IS NOT NULL"),
    )
    op.drop_index(op.f("ix_event_updated_at_id"), table_name="event")
    op.drop_index("ix_event_tags", table_name="event", postgresql_using="gin")
    op.drop_index(op.f("ix_event_status"), table_name="event")
    op.drop_index("ix_event_search", table_name="event", postgresql_using="gin")
    op.drop_index(op.f("ix_event_region_code_event_date"), table_name="event")
    op.drop_index("ix_event_point", table_name="event", postgresql_using="gist")
    op.drop_index(op.f("ix_event_place_id"), table_name="event")
    op.drop_index(op.f("ix_event_event_type_sub_event_type"), table_name="event")
    op.drop_index(op.f("ix_event_event_date_id"), table_name="event")
    op.drop_index("ix_event_earth", table_name="event", postgresql_using="gist")
    op.drop_index(op.f("ix_event_country_event_date"), table_name="event")
    op.drop_table("event")
    op.drop_index(op.f("ix_place_country_region_code"), table_name="place")
    op.drop_table("place")
    op.drop_index("uq_unit_name_side", table_name="unit")
    op.drop_table("unit")
    op.drop_index(op.f("ix_region_country"), table_name="region")
    op.drop_table("region")
    op.drop_table("api_key")
    op.execute("DROP FUNCTION IF EXISTS revision_append_only()")
    for extension in reversed(EXTENSIONS):
        op.execute(f"DROP EXTENSION IF EXISTS {extension}")
