"""What a status attests (docs/trust.md): the rules every write path applies, the event's
own and the import's set-based SQL alike."""

from typing import Any

from app.events.fields import SUBSTANTIVE_FIELDS

# The revisions that can change what an event says (the tombstone's own merged_into and
# unmerged revisions hide and bring back content unchanged).
CONTENT_ACTIONS = (
    "create", "update", "source_added", "source_changed", "source_removed", "merge", "unmerge",
    "import",
)  # fmt: skip


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
