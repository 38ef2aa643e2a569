"""The declarative base shared by every domain, and the registry Alembic reads."""

import datetime as dt
import re
import uuid
from typing import Any

from sqlalchemy import MetaData, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TIMESTAMP, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        dt.datetime: TIMESTAMP(timezone=True),
        uuid.UUID: UUID(as_uuid=True),
        list[str]: ARRAY(Text),
        dict: JSONB,
    }


def uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(primary_key=True, server_default=text("gen_random_uuid()"))


def created_at_column() -> Mapped[dt.datetime]:
    return mapped_column(server_default=text("now()"))


def load_all_models() -> None:
    """Import every domain's models so that Base.metadata knows all tables."""
    import app.auth.models
    import app.events.models
    import app.gazetteer.models  # noqa: F401


PARTITION_NAME = re.compile(
    r"^(event|source_report|event_unit|revision|event_change)_(y\d{4}|default)$"
)


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """What Alembic compares: not tables made by extensions, not the partitions of event and
    its children (their per-partition foreign-key copies included), which are created by
    itk_event_partition."""
    if type_ == "table" and reflected and compare_to is None:
        return name == "alembic_version"
    if type_ == "foreign_key_constraint" and reflected and compare_to is None:
        return not PARTITION_NAME.match(obj.referred_table.name)
    return True
