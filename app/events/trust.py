"""What a status attests (docs/trust.md): the rules every write path applies, the event's
own and the import's set-based SQL alike."""

from typing import Any

# What an event says happened: a status attests these, so changing any of them (by PATCH, a
# source added, a merge or unmerge, an import) sends a judged event back to `claimed` and
# makes the key that changed them one that may not judge it next. Tags and external ids are
# filing, and unit or region renames are presentation: they keep the status.
SUBSTANTIVE_FIELDS = (
    "event_date",
    "date_precision",
    "event_type",
    "sub_event_type",
    "country",
    "region_code",
    "place_id",
    "location_name",
    "lat",
    "lon",
    "geo_precision",
    "units",
    "fatalities",
    "summary",
    "sources",
)
# The revisions that can change what an event says (the tombstone's own merged_into and
# unmerged revisions hide and bring back content unchanged).
CONTENT_ACTIONS = ("create", "update", "source_added", "merge", "unmerge", "import")


def unjudged(status: str, action: str, diff: dict[str, Any]) -> str | None:
    """If this revision changes what a verified, disputed or refuted event says: add the
    return to `claimed` to its diff and give the reason for its rationale."""
    changed = sorted(set(diff) & set(SUBSTANTIVE_FIELDS))
    if action not in CONTENT_ACTIONS or status == "claimed" or not changed:
        return None
    diff["status"] = {"from": status, "to": "claimed"}
    return (
        f"{', '.join(changed)} changed after the event was {status}: back to claimed until "
        "another key checks it."
    )
