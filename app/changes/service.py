"""The change feed: everything that changed since a cursor, never skipping a late commit."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.changes import repository
from app.changes.schemas import ChangeOut, ChangePage
from app.core.pagination import decode_cursor, encode_cursor, invalid_cursor
from app.events import live_events


def _position(since: str | None) -> tuple[int, int]:
    if not since:
        return 0, 0
    xid, seq = decode_cursor(since, 2, param="since")
    if not (isinstance(xid, int) and isinstance(seq, int)):
        raise invalid_cursor("since")
    return xid, seq


async def changes_since(session: AsyncSession, since: str | None, limit: int) -> ChangePage:
    """Upserts (with the event as it is now) and deletes (tombstones), oldest first.

    next_cursor is always set: poll again with it, whether or not this page was full.
    """
    xid, seq = _position(since)
    changes = await repository.changes_after(session, xid, seq, limit)
    live = await live_events(session, list({change.event_id for change in changes}))
    items = [
        ChangeOut(
            cursor=encode_cursor(change.xid, change.seq),
            op="delete" if change.op == "delete" else "upsert",
            event_id=change.event_id,
            event=live[change.event_id]
            if change.op == "upsert" and change.event_id in live
            else None,
            committed_at=change.changed_at,
        )
        for change in changes
    ]
    next_cursor = items[-1].cursor if items else encode_cursor(xid, seq)
    return ChangePage(items=items, next_cursor=next_cursor)
