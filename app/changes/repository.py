"""The change feed's query: commit-safe ordering by (transaction id, sequence)."""

from sqlalchemy import BigInteger, ColumnElement, literal_column, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.events import EventChange

# Every transaction with an id below this has committed or aborted.
WATERMARK: ColumnElement[int] = literal_column(
    "(pg_snapshot_xmin(pg_current_snapshot())::text)::bigint", BigInteger
)


async def changes_after(session: AsyncSession, xid: int, seq: int, limit: int) -> list[EventChange]:
    """Changes after (xid, seq) whose transactions have all ended, in (xid, seq) order.

    A sequence number is taken at write time but becomes visible at commit, so "seq > last"
    would skip a transaction that commits late. Reading only below the snapshot's xmin, in
    (xid, seq) order, never does: nothing can appear later behind the cursor.
    """
    query = (
        select(EventChange)
        .where(
            tuple_(EventChange.xid, EventChange.seq) > tuple_(xid, seq),
            EventChange.xid < WATERMARK,
        )
        .order_by(EventChange.xid, EventChange.seq)
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())
