import datetime as dt
import uuid

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Computed,
    Double,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import Base, created_at_column, uuid_pk


class Region(Base):
    """An ISO 3166-2 subdivision."""

    __tablename__ = "region"
    __table_args__ = (Index(None, "country"),)

    code: Mapped[str] = mapped_column(Text, primary_key=True)
    country: Mapped[str] = mapped_column(String(2))
    name: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(Text)
    parent_code: Mapped[str | None] = mapped_column(Text)
    aliases: Mapped[list[str]] = mapped_column(server_default=text("'{}'"))
    # Spelling-insensitive keys of the name and every alias (see migrations/name_keys.py).
    names_key: Mapped[str] = mapped_column(
        Text, Computed("itk_names_key(name, aliases)", persisted=True)
    )


class Place(Base):
    """A gazetteer entry: a populated place with every name it goes by."""

    __tablename__ = "place"
    __table_args__ = (
        CheckConstraint("lat BETWEEN -90 AND 90 AND lon BETWEEN -180 AND 180", name="coords"),
        CheckConstraint("origin IN ('geonames', 'analyst')", name="origin"),
        Index(None, "country", "region_code"),
        # Boxes (OGC API's bbox on places) as latitude and longitude ranges.
        Index(None, "lat", "lon"),
        Index(
            "ix_place_names_key_trgm",
            "names_key",
            postgresql_using="gin",
            postgresql_ops={"names_key": "gin_trgm_ops"},
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(Text)
    alt_names: Mapped[list[str]] = mapped_column(server_default=text("'{}'"))
    names_key: Mapped[str] = mapped_column(
        Text, Computed("itk_names_key(name, alt_names)", persisted=True), deferred=True
    )
    country: Mapped[str] = mapped_column(String(2))
    region_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"))
    lat: Mapped[float] = mapped_column(Double)
    lon: Mapped[float] = mapped_column(Double)
    kind: Mapped[str] = mapped_column(Text, server_default="village")
    origin: Mapped[str] = mapped_column(Text, server_default="analyst")
    population: Mapped[int | None] = mapped_column(Integer)
    geonames_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    created_at: Mapped[dt.datetime] = created_at_column()
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("api_key.id"))


class Unit(Base):
    """A military or armed unit, on one side."""

    __tablename__ = "unit"
    __table_args__ = (
        Index("uq_unit_name_side", text("lower(name)"), "side", unique=True),
        Index(
            "ix_unit_names_key_trgm",
            "names_key",
            postgresql_using="gin",
            postgresql_ops={"names_key": "gin_trgm_ops"},
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(Text)
    aliases: Mapped[list[str]] = mapped_column(server_default=text("'{}'"))
    names_key: Mapped[str] = mapped_column(
        Text, Computed("itk_unit_keys(name, aliases)", persisted=True), deferred=True
    )
    side: Mapped[str] = mapped_column(Text)
    echelon: Mapped[str | None] = mapped_column(Text)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("unit.id"))
    created_at: Mapped[dt.datetime] = created_at_column()


class ReferenceChange(Base):
    """Append-only audit of the reference data events are read through: every change of a
    region's aliases and of a unit's name, aliases, side, echelon or parent (and every unit
    made through /v1/units), with who, when, and the entry before and after."""

    __tablename__ = "reference_change"
    __table_args__ = (
        Index(None, "kind", "ref", "id"),
        CheckConstraint("kind IN ('region', 'unit')", name="kind"),
        CheckConstraint("action IN ('create', 'update')", name="action"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    # The region's code or the unit's id.
    ref: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    actor: Mapped[uuid.UUID] = mapped_column(ForeignKey("api_key.id"))
    at: Mapped[dt.datetime] = created_at_column()
    before: Mapped[dict[str, object] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, object]] = mapped_column(JSONB)
