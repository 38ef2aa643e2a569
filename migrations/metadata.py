"""What Alembic compares: every domain's tables, less what PostgreSQL makes by itself."""

import re
from typing import Any


def load_all_models() -> None:
    """Import every domain's models so that Base.metadata knows all tables."""
    import app.auth.models
    import app.events.models
    import app.gazetteer.models
    import app.subscriptions.models  # noqa: F401


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
