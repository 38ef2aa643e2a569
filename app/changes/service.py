"""The change feed: everything that changed since a cursor, never skipping a late commit."""

from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from app.changes import repository
from app.changes.schemas import ChangeOut
from app.core.pagination import decode_cursor, encode_cursor, invalid_cursor
from app.events import live_documents


def feed_position(since: str | None, param: str = "since") -> tuple[int, int]:
    """The (xid, seq) a feed cursor stands for; (0, 0) for none; a 422 for a cursor the
    feed did not hand out."""
    if not since:
        return 0, 0
    xid, seq = decode_cursor(since, 2, param=param)
    if not (isinstance(xid, int) and isinstance(seq, int)):
        raise invalid_cursor(param)
    return xid, seq


async def changes_since(session: AsyncSession, since: str | None, limit: int) -> bytes:
    """Upserts (with the event as it is now: its stored document) and deletes (tombstones),
    oldest first, as a ChangePage's JSON.

    next_cursor is always set: poll again with it, whether or not this page was full.
    """
    xid, seq = feed_position(since)
    changes = await repository.changes_after(session, xid, seq, limit)
    live = await live_documents(session, list({change.event_id for change in changes}))
    items: list[dict[str, Any]] = []
    for change in changes:
        item = ChangeOut(
            cursor=encode_cursor(change.xid, change.seq),
            op="delete" if change.op == "delete" else "upsert",
            event_id=change.event_id,
            event=None,
            committed_at=change.changed_at,
        ).model_dump(mode="json")
        if change.op == "upsert" and change.event_id in live:
            item["event"] = orjson.Fragment(live[change.event_id])
        items.append(item)
    next_cursor = items[-1]["cursor"] if items else encode_cursor(xid, seq)
    return orjson.dumps({"items": items, "next_cursor": next_cursor})
