import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ColumnElement,
    Computed,
    Date,
    Double,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    and_,
    text,
)
from sqlalchemy.dialects.postgresql import DATERANGE, JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from app.core.models import Base, created_at_column, uuid_pk
from app.gazetteer.models import Place, Region, Unit

# One partition per year (itk_event_partition makes a year's for event and for its source
# reports, unit links and revisions, which carry their event's date) and a default one.
PARTITIONED_WITH_EVENT = {"postgresql_partition_by": "RANGE (event_date)"}
# What the rollups sum per key beside their key.
ROLLUP_MEASURES = ["events", "fatalities", "fatalities_low", "fatalities_best", "fatalities_high"]

# The last day a date-precise event may have happened: what date filters overlap with.
# No period is longer than MAX_PERIOD_DAYS after its first day (a 31-day month).
MAX_PERIOD_DAYS = 30
EVENT_DATE_END_SQL = (
    "CASE date_precision WHEN 'week' THEN event_date + 6 "
    "WHEN 'month' THEN (event_date + interval '1 month' - interval '1 day')::date "
    "ELSE event_date END"
)
EVENT_SEARCH_SQL = (
    "to_tsvector('simple'::regconfig, coalesce(summary, '') || ' ' || coalesce(location_name, ''))"
)
SOURCE_SEARCH_SQL = (
    "to_tsvector('simple'::regconfig, coalesce(source_name, '') || ' ' || coalesce(excerpt, ''))"
)


class Event(Base):
    """One located incident."""

    __tablename__ = "event"
    __table_args__ = (
        CheckConstraint("date_precision IN ('day', 'week', 'month')", name="date_precision"),
        CheckConstraint("status IN ('claimed', 'verified', 'disputed', 'refuted')", name="status"),
        CheckConstraint("confidence IN ('low', 'moderate', 'high')", name="confidence"),
        CheckConstraint("geo_precision IN ('exact', 'near', 'region')", name="geo_precision"),
        CheckConstraint("fatalities >= 0", name="fatalities"),
        CheckConstraint(
            "civilian_fatalities >= 0 AND civilian_fatalities <= fatalities",
            name="civilian_fatalities",
        ),
        CheckConstraint(
            "(lat IS NULL) = (lon IS NULL) AND lat BETWEEN -90 AND 90 AND lon BETWEEN -180 AND 180",
            name="coords",
        ),
        Index(None, "region_code", "event_date", "id"),
        Index(None, "country", "event_date", "id"),
        Index(None, "event_date", "id"),
        Index(None, "updated_at", "id"),
        Index(None, "status"),
        Index(None, "event_type", "sub_event_type"),
        Index(None, "place_id"),
        # The few events with a control claim, by date: changes of control in the stats.
        Index("ix_event_control_date", "event_date", postgresql_where=text("control IS NOT NULL")),
        # The few events whose sources' figures are disputed, by date (disputed_figures=true).
        Index("ix_event_disputed_date", "event_date", postgresql_where=text("figures_disputed")),
        Index("ix_event_tags", "tags", postgresql_using="gin"),
        Index("ix_event_search", "search", postgresql_using="gin"),
        Index("ix_event_earth", text("ll_to_earth(lat, lon)"), postgresql_using="gist"),
        # Boxes and circles as latitude and longitude ranges (events.filters), dates checked
        # in the index.
        Index(None, "lat", "lon", "event_date"),
        Index(
            "ix_event_location_key_trgm",
            "location_key",
            postgresql_using="gin",
            postgresql_ops={"location_key": "gin_trgm_ops"},
        ),
        PARTITIONED_WITH_EVENT,
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    external_id: Mapped[str | None] = mapped_column(Text)
    external_source: Mapped[str | None] = mapped_column(Text)
    # Part of the table's primary key (the partition key must be); events are known by id.
    event_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    date_precision: Mapped[str] = mapped_column(Text, server_default="day")
    event_date_end: Mapped[dt.date] = mapped_column(
        Date, Computed(EVENT_DATE_END_SQL, persisted=True)
    )
    event_type: Mapped[str] = mapped_column(Text)
    sub_event_type: Mapped[str] = mapped_column(Text)
    country: Mapped[str] = mapped_column(String(2))
    region_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"))
    place_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("place.id"))
    location_name: Mapped[str | None] = mapped_column(Text)
    location_key: Mapped[str | None] = mapped_column(
        Text, Computed("itk_name_key(location_name)", persisted=True), deferred=True
    )
    lat: Mapped[float | None] = mapped_column(Double)
    lon: Mapped[float | None] = mapped_column(Double)
    geo_precision: Mapped[str] = mapped_column(Text, server_default="exact")
    status: Mapped[str] = mapped_column(Text, server_default="claimed")
    # Analytic confidence (low, moderate, high), set with a rationale; none until then.
    confidence: Mapped[str | None] = mapped_column(Text)
    fatalities: Mapped[int | None] = mapped_column(Integer)
    civilian_fatalities: Mapped[int | None] = mapped_column(Integer)
    # The estimate of fatalities from the sources' claims (low, best, high: estimates.py) and
    # whether their figures are disputed, written with the documents (fields.FIGURE_COLUMNS)
    # for the stats and the disputed_figures filter; EventOut computes its own.
    fatalities_low: Mapped[int | None] = mapped_column(Integer, deferred=True)
    fatalities_best: Mapped[int | None] = mapped_column(Integer, deferred=True)
    fatalities_high: Mapped[int | None] = mapped_column(Integer, deferred=True)
    figures_disputed: Mapped[bool] = mapped_column(
        Boolean, server_default=text("false"), deferred=True
    )
    summary: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(server_default=text("'{}'"))
    # The control claim (schemas.ControlClaim) as JSON; control_claim holds it per place.
    control: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    search: Mapped[Any] = mapped_column(
        TSVECTOR, Computed(EVENT_SEARCH_SQL, persisted=True), deferred=True
    )
    created_at: Mapped[dt.datetime] = created_at_column()
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("api_key.id"))
    updated_at: Mapped[dt.datetime] = created_at_column()
    updated_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("api_key.id"))
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    deleted_at: Mapped[dt.datetime | None]
    # The event as the API shows it (EventOut's JSON), rendered by PostgreSQL whenever it is
    # written (itk_event_docs, app/events/fields.py): what lists, exports and the feed send.
    doc: Mapped[str | None] = mapped_column(Text, deferred=True)
    # Its CSV line, the same way (CSV exports).
    doc_csv: Mapped[str | None] = mapped_column(Text, deferred=True)
    merged_into: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("event_key.id"))

    region: Mapped[Region | None] = relationship(lazy="raise")
    place: Mapped[Place | None] = relationship(lazy="raise")
    # Children reference event_key(id) (a foreign key to the partitioned table would have to
    # name event_date too, and its checks cost twice the import time) and carry their event's
    # date, partitioned by it like event. Joined on both, so a load reads the one partition,
    # and the ORM copies the date into a new child; a trigger moves children when it changes.
    sources: Mapped[list["SourceReport"]] = relationship(
        lazy="raise",
        order_by="SourceReport.seq",
        cascade="all, delete-orphan",
        passive_deletes=True,
        primaryjoin="and_(Event.id == foreign(SourceReport.event_id),"
        " Event.event_date == foreign(SourceReport.event_date))",
    )
    unit_links: Mapped[list["EventUnit"]] = relationship(
        lazy="raise",
        order_by="EventUnit.position",
        cascade="all, delete-orphan",
        primaryjoin="and_(Event.id == foreign(EventUnit.event_id),"
        " Event.event_date == foreign(EventUnit.event_date))",
    )

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        # Values set with SQL expressions (now()) come back with RETURNING, not a second
        # query; the identity is the id, although the table's key also holds event_date.
        return {"eager_defaults": True, "primary_key": [cls.__table__.c.id]}


class SourceReport(Base):
    """One source's report on an event: what it says, and how far it is to be trusted."""

    __tablename__ = "source_report"
    __table_args__ = (
        CheckConstraint("stance IN ('supports', 'denies', 'unclear')", name="stance"),
        CheckConstraint("reliability IN ('A', 'B', 'C', 'D', 'E', 'F')", name="reliability"),
        CheckConstraint("credibility IN ('1', '2', '3', '4', '5', '6')", name="credibility"),
        Index(None, "event_id"),
        Index(None, "source_name"),
        Index("ix_source_report_search", "search", postgresql_using="gin"),
        # Insertion order: several reports added in one transaction share added_at.
        UniqueConstraint("seq", "event_date"),
        PARTITIONED_WITH_EVENT,
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    seq: Mapped[int] = mapped_column(BigInteger, Identity())
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("event_key.id", ondelete="CASCADE"))
    event_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    source_name: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[dt.datetime | None]
    stance: Mapped[str] = mapped_column(Text, server_default="supports")
    excerpt: Mapped[str | None] = mapped_column(Text)
    reliability: Mapped[str] = mapped_column(String(1), server_default="F")
    credibility: Mapped[str] = mapped_column(String(1), server_default="6")
    language: Mapped[str | None] = mapped_column(Text)
    # What this source claims (schemas.SourceFigures) as JSON: figures and outcome.
    figures: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    search: Mapped[Any] = mapped_column(
        TSVECTOR, Computed(SOURCE_SEARCH_SQL, persisted=True), deferred=True
    )
    added_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("api_key.id"))
    added_at: Mapped[dt.datetime] = created_at_column()

    __mapper_args__ = {"eager_defaults": True, "primary_key": [id]}


class EventUnit(Base):
    """A unit reported involved in an event, with its role there."""

    __tablename__ = "event_unit"
    # A unit's events by date (not with event_id too: PostgreSQL 18 then skip-scanned it in
    # place of the primary key to find one event's units, 10x slower per event rendered).
    __table_args__ = (Index(None, "unit_id", "event_date"), PARTITIONED_WITH_EVENT)

    event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("event_key.id", ondelete="CASCADE"), primary_key=True
    )
    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("unit.id"), primary_key=True)
    event_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    role: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, server_default="0")

    unit: Mapped[Unit] = relationship(lazy="raise")

    __mapper_args__ = {"primary_key": [event_id, unit_id]}


class Revision(Base):
    """Append-only history: one row per change to an event."""

    __tablename__ = "revision"
    __table_args__ = (
        UniqueConstraint("event_id", "revision", "event_date"),
        CheckConstraint(
            "action IN ('create', 'update', 'status', 'source_added', 'delete', 'restore', "
            "'merge', 'merged_into', 'import', 'unit_changed', 'unmerge', 'unmerged', "
            "'relation_added', 'relation_removed', 'confidence', 'source_changed', "
            "'source_removed')",
            name="action",
        ),
        PARTITIONED_WITH_EVENT,
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("event_key.id"))
    event_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(Text)
    actor: Mapped[uuid.UUID] = mapped_column(ForeignKey("api_key.id"))
    at: Mapped[dt.datetime] = created_at_column()
    rationale: Mapped[str | None] = mapped_column(Text)
    diff: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))

    __mapper_args__ = {"primary_key": [id]}


class IdempotencyRecord(Base):
    """The response to a POST made with an Idempotency-Key, replayed for 24 hours."""

    __tablename__ = "idempotency_key"
    __table_args__ = (Index(None, "created_at"),)

    api_key_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("api_key.id"), primary_key=True)
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    request_sha256: Mapped[bytes] = mapped_column(LargeBinary)
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[bytes] = mapped_column(LargeBinary)
    response_headers: Mapped[dict[str, str]] = mapped_column(JSONB)
    created_at: Mapped[dt.datetime] = created_at_column()


class EventChange(Base):
    """One row per write to an event, with the writing transaction's id: the change feed.

    Filled by statement-level triggers on event, so bulk imports are logged too.
    """

    __tablename__ = "event_change"
    __table_args__ = (
        Index(None, "xid", "seq"),
        CheckConstraint("op IN ('upsert', 'delete')", name="op"),
        # By when the change was written (the feed is read in commit order across all event
        # dates, and trimmed by age): a partition per UTC year, from itk_event_partition.
        {"postgresql_partition_by": "RANGE (changed_at)"},
    )

    seq: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    xid: Mapped[int] = mapped_column(
        BigInteger, server_default=text("(pg_current_xact_id()::text)::bigint")
    )
    event_id: Mapped[uuid.UUID]
    op: Mapped[str] = mapped_column(Text)
    changed_at: Mapped[dt.datetime] = mapped_column(primary_key=True, server_default=text("now()"))

    __mapper_args__ = {"primary_key": [seq]}


class EventChangeXact(Base):
    """One row per transaction that logged changes (itk_log_change_xact): the data version
    counts these above the snapshot's xmin, not the changes (app/stats/repository.py). Rows
    below every snapshot's xmin are dropped by the compactor."""

    __tablename__ = "event_change_xact"

    xid: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)


class RollupKey:
    """The columns both rollups key their rows by: a partition per grain, a bucket of it (on
    day rows with the events' date precision), the place."""

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    grain: Mapped[str] = mapped_column(Text, primary_key=True)
    bucket: Mapped[dt.date] = mapped_column(Date)
    date_precision: Mapped[str] = mapped_column(Text)
    country: Mapped[str] = mapped_column(String(2))
    region_code: Mapped[str | None] = mapped_column(Text)


class EventRollup(RollupKey, Base):
    """Live-event count deltas per (day|week|month bucket, precision, place, type, status),
    appended by statement-level triggers on event in the writing transaction (so stats are
    exact at once) and folded together by itk_rollup_compact(). A partition per grain: a
    weekly series reads the week's rows alone."""

    __tablename__ = "event_rollup"
    __table_args__ = (
        Index(
            None,
            "grain",
            "bucket",
            postgresql_include=[
                "date_precision",
                "country",
                "region_code",
                "event_type",
                "status",
                "events",
                "fatalities",
                "fatalities_low",
                "fatalities_best",
                "fatalities_high",
            ],
        ),
        # The deltas the compactor has not yet added to event_rollup_area.
        Index(
            "ix_event_rollup_unfolded",
            "grain",
            "bucket",
            postgresql_include=["date_precision", "country", "region_code", *ROLLUP_MEASURES],
            postgresql_where=text("NOT folded"),
        ),
        CheckConstraint("grain IN ('day', 'week', 'month')", name="grain"),
        # event_rollup_day, _week and _month (migration b9e4f2a6c8d1).
        {"postgresql_partition_by": "LIST (grain)"},
    )

    event_type: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    events: Mapped[int] = mapped_column(BigInteger)
    fatalities: Mapped[int] = mapped_column(BigInteger)
    # Sums of the events' estimate of fatalities (Event.fatalities_low, …).
    fatalities_low: Mapped[int] = mapped_column(BigInteger, server_default="0")
    fatalities_best: Mapped[int] = mapped_column(BigInteger, server_default="0")
    fatalities_high: Mapped[int] = mapped_column(BigInteger, server_default="0")
    # Added to event_rollup_area by itk_rollup_compact(), which marks it so (the triggers
    # append every delta unfolded).
    folded: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))


class EventRollupArea(RollupKey, Base):
    """The rollup summed over event type and status: one row per (grain, bucket, precision,
    country, region), kept by itk_rollup_compact() from event_rollup's deltas as it folds
    them. The questions it answers (by region or country, or none, filtered by place and
    date) read it with the deltas not yet folded (event_rollup.folded false): a weekly series
    by region reads a row per region and week, not one per type and status too."""

    __tablename__ = "event_rollup_area"
    __table_args__ = (
        UniqueConstraint(
            "grain",
            "bucket",
            "date_precision",
            "country",
            "region_code",
            name="uq_event_rollup_area_key",
            postgresql_nulls_not_distinct=True,
        ),
        CheckConstraint("grain IN ('day', 'week', 'month')", name="grain"),
        # event_rollup_area_day, _week and _month (migration c3a8e5d1f7b9).
        {"postgresql_partition_by": "LIST (grain)"},
    )

    events: Mapped[int] = mapped_column(BigInteger)
    fatalities: Mapped[int] = mapped_column(BigInteger)
    fatalities_low: Mapped[int] = mapped_column(BigInteger)
    fatalities_best: Mapped[int] = mapped_column(BigInteger)
    fatalities_high: Mapped[int] = mapped_column(BigInteger)


class EventCell(Base):
    """Live, located event count deltas per (Web Mercator cell of zoom 14, status, country,
    region), with the sums of the events' zoom 24 positions, appended by statement-level
    triggers on event (itk_cells_follow) and folded by itk_cells_compact(): the map tiles'
    clusters at low zooms (app/tiles) without reading the events."""

    __tablename__ = "event_cell"
    __table_args__ = (
        Index(
            None,
            "cx",
            "cy",
            postgresql_include=["status", "country", "region_code", "events", "sum_x", "sum_y"],
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    # The cell: column and row of the 2^14 grid (itk_mercator_column(lon) >> 10, …).
    cx: Mapped[int] = mapped_column(Integer)
    cy: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(Text)
    country: Mapped[str] = mapped_column(String(2))
    region_code: Mapped[str | None] = mapped_column(Text)
    events: Mapped[int] = mapped_column(BigInteger)
    sum_x: Mapped[int] = mapped_column(BigInteger)
    sum_y: Mapped[int] = mapped_column(BigInteger)


class ControlClaimRecord(Base):
    """One place an event's control claim names (its own place when it names none), kept by
    statement-level triggers on event (itk_control_claims) in the writing transaction, for
    events not deleted: what the control ledger is derived from."""

    __tablename__ = "control_claim"
    __table_args__ = (
        Index(None, "place_id", "event_date"),
        CheckConstraint("outcome IN ('taken', 'held')", name="outcome"),
    )

    place_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("place.id"), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("event_key.id", ondelete="CASCADE"), primary_key=True
    )
    event_date: Mapped[dt.date] = mapped_column(Date)
    event_date_end: Mapped[dt.date] = mapped_column(Date)
    date_precision: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(Text)
    side: Mapped[str] = mapped_column(Text)
    from_side: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)


class ControlState(Base):
    """Who holds a place from one of its claim dates to the next, on each basis (claims, or
    verified only): the state ledger.py derives, kept by statement-level triggers on
    control_claim and on place (itk_control_states) in the writing transaction, with the
    place's GeoJSON Feature rendered, so the map of a day is one index scan."""

    __tablename__ = "control_state"
    __table_args__ = (
        Index("ix_control_state_basis_valid", "basis", "valid", postgresql_using="gist"),
        CheckConstraint("basis IN ('claims', 'verified')", name="basis"),
    )

    basis: Mapped[str] = mapped_column(Text, primary_key=True)
    place_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("place.id", ondelete="CASCADE"), primary_key=True
    )
    # The claim date the state starts on, and its days: to the next claim date (exclusive).
    since: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    valid: Mapped[Any] = mapped_column(DATERANGE, nullable=False)
    # The place's point, country and region, for the map's filters.
    lon: Mapped[float] = mapped_column(Double)
    lat: Mapped[float] = mapped_column(Double)
    country: Mapped[str] = mapped_column(String(2))
    region_code: Mapped[str | None] = mapped_column(Text)
    feature: Mapped[str] = mapped_column(Text)


class EventRelation(Base):
    """A typed relation stated between two events: `event_id` `kind` `other_id` ("B retakes
    A"). Symmetric kinds (contradicts, same_as) are stored with the smaller id first, so a
    pair holds each kind once whichever event it was stated from."""

    __tablename__ = "event_relation"
    __table_args__ = (
        UniqueConstraint("event_id", "kind", "other_id"),
        Index(None, "other_id"),
        CheckConstraint(
            "kind IN ('retakes', 'responds_to', 'part_of', 'contradicts', 'same_as')",
            name="kind",
        ),
        CheckConstraint("event_id <> other_id", name="not_itself"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    # The order relations are listed in (several made in one transaction share created_at).
    seq: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True)
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("event_key.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(Text)
    other_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("event_key.id", ondelete="CASCADE"))
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("api_key.id"))
    created_at: Mapped[dt.datetime] = created_at_column()


def of_its_event(child: Any) -> ColumnElement[bool]:
    """A source report, unit link or revision (or an alias of one) joined to its event: by
    id, and by the date, which picks the one partition to read."""
    return and_(child.event_id == Event.id, child.event_date == Event.event_date)


class EventKey(Base):
    """Every event's id, and its external id, unique here: a plain table for what refers to
    an event by id alone. Statement-level triggers on event insert, update and delete rows."""

    __tablename__ = "event_key"
    __table_args__ = (
        Index(
            "uq_event_external",
            "external_source",
            "external_id",
            unique=True,
            postgresql_nulls_not_distinct=True,
            postgresql_where=text("external_id IS NOT NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    external_source: Mapped[str | None] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(Text)
