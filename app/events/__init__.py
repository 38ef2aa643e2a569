"""The event's public surface: what the other domains (exports, imports, changes, stats) and
the CLI may use. The rest of app.events is its own; see docs/architecture.md."""

from app.events import repository as _repository
from app.events.fields import (
    CSV_COLUMNS,
    CSV_HEADER,
    DOCUMENT,
    DOCUMENT_CSV,
    EVENT_JSON,
    EXPORT_DOCUMENT,
    JSON_COLUMNS,
    READ_ONLY_CSV_COLUMNS,
    STAGED_ASSIGNMENTS,
    STAGED_DIFFERS,
    STAGED_NAMED,
    STAGING_COLUMNS,
    STAGING_TABLE,
    SUBSTANTIVE_FIELDS,
    geojson_feature,
    insert_new_events,
    json_selecting,
    new_event_columns,
)
from app.events.filters import (
    SORT_COLUMNS,
    EventFilters,
    EventListParams,
    Sort,
    filter_conditions,
    resolved_names,
    used_filters,
)
from app.events.models import (
    ControlClaimRecord,
    ControlState,
    Event,
    EventCell,
    EventChange,
    EventChangeXact,
    EventRollup,
    EventRollupArea,
    EventUnit,
    SourceReport,
    of_its_event,
)
from app.events.schemas import EventCreate, EventOut, StatusChange, period_start
from app.events.service import (
    change_status,
    check_filters,
    ensure_may_see_deleted,
    events_matching,
    list_events,
    live_documents,
    on_saved_search,
    saved_filters,
)
from app.events.taxonomy import (
    ACLED_EVENT_TYPES,
    ACLED_GEO_PRECISION,
    ACLED_SUB_EVENT_TYPES,
    ACLED_TIME_PRECISION,
    DISORDER_TYPES,
    TERRITORIAL_SUB_EVENT_TYPES,
    UCDP_DATE_PRECISION,
    UCDP_WHERE_PRECISION,
)
from app.gazetteer import service as _gazetteer

# A unit renamed in the gazetteer is recorded on every event that names it.
_gazetteer.on_unit_rename(
    _gazetteer.UnitRenames(
        lock_events=_repository.lock_events_naming_unit, record=_repository.record_unit_change
    )
)

__all__ = [
    "ACLED_EVENT_TYPES",
    "ACLED_GEO_PRECISION",
    "ACLED_SUB_EVENT_TYPES",
    "ACLED_TIME_PRECISION",
    "CSV_COLUMNS",
    "CSV_HEADER",
    "DISORDER_TYPES",
    "DOCUMENT",
    "DOCUMENT_CSV",
    "EVENT_JSON",
    "EXPORT_DOCUMENT",
    "JSON_COLUMNS",
    "READ_ONLY_CSV_COLUMNS",
    "SORT_COLUMNS",
    "STAGED_ASSIGNMENTS",
    "STAGED_DIFFERS",
    "STAGED_NAMED",
    "STAGING_COLUMNS",
    "STAGING_TABLE",
    "SUBSTANTIVE_FIELDS",
    "TERRITORIAL_SUB_EVENT_TYPES",
    "UCDP_DATE_PRECISION",
    "UCDP_WHERE_PRECISION",
    "ControlClaimRecord",
    "ControlState",
    "Event",
    "EventCell",
    "EventChange",
    "EventChangeXact",
    "EventCreate",
    "EventFilters",
    "EventListParams",
    "EventOut",
    "EventRollup",
    "EventRollupArea",
    "EventUnit",
    "Sort",
    "SourceReport",
    "StatusChange",
    "change_status",
    "check_filters",
    "ensure_may_see_deleted",
    "events_matching",
    "filter_conditions",
    "geojson_feature",
    "insert_new_events",
    "json_selecting",
    "list_events",
    "live_documents",
    "new_event_columns",
    "of_its_event",
    "on_saved_search",
    "period_start",
    "resolved_names",
    "saved_filters",
    "used_filters",
]
