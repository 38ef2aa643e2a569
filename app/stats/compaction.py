"""Folds the rollup's appended deltas together, in the background, one process at a time."""

import asyncio
import logging

from sqlalchemy import delete, text

from app.changes import WATERMARK
from app.core.db import Database
from app.events import EventChangeXact

log = logging.getLogger("app.stats")

# Any constant: advisory lock keys are shared by every process on the database.
COMPACTION_LOCK = 0x17C0_11AB
# After folding this many rows (an import's), the rollups' statistics are taken again: the
# planner reads the unfolded deltas by their partial index while it knows them to be few.
ANALYZE_AFTER_ROWS = 10_000


# The data version counts event_change_xact's rows at or above a snapshot's xmin: the ones
# below this one's are below every later snapshot's too (and an earlier snapshot still
# running sees them still).
FORGET_ENDED_TRANSACTIONS = delete(EventChangeXact).where(EventChangeXact.xid < WATERMARK)


async def compact_once(database: Database) -> int | None:
    """Compact if no other process is doing it; the number of delta rows folded, or None.

    The lock is transaction-scoped, so it is released with the commit and holds behind a
    PgBouncer in transaction mode too."""
    async with database.write_engine.begin() as conn:
        lock = text("SELECT pg_try_advisory_xact_lock(:k)")
        if not await conn.scalar(lock, {"k": COMPACTION_LOCK}):
            return None
        # The stats rollup, and the map tiles' cells (app/tiles): the same kind of deltas.
        rollup = int(await conn.scalar(text("SELECT itk_rollup_compact()")) or 0)
        cells = int(await conn.scalar(text("SELECT itk_cells_compact()")) or 0)
        await conn.execute(FORGET_ENDED_TRANSACTIONS)
    if rollup >= ANALYZE_AFTER_ROWS:
        async with database.write_engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            for table in ("event_rollup", "event_rollup_area"):
                await conn.execute(text(f"ANALYZE {table}"))
    return rollup + cells


ENSURE_PARTITIONS = text(
    "SELECT itk_event_partition(year) FROM generate_series("
    " extract(year FROM now())::int, extract(year FROM now())::int + :ahead) AS year"
)


async def ensure_event_partitions(database: Database, years_ahead: int = 2) -> None:
    """Give this year and the next ones their partitions of event before any row needs one
    (a no-op when they exist)."""
    async with database.write_engine.begin() as conn:
        await conn.execute(ENSURE_PARTITIONS, {"ahead": years_ahead})


async def run_compactor(database: Database, interval_s: float) -> None:
    """Compact every interval_s seconds until cancelled (and keep event's yearly partitions
    ahead of time); errors are logged, not fatal."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            await ensure_event_partitions(database)
        except Exception:  # a database outage must not end the loop
            log.warning("creating event partitions failed", exc_info=True)
        try:
            folded = await compact_once(database)
            if folded:
                log.info("rollup compacted", extra={"rows": folded})
        except Exception:  # a database outage must not end the loop
            log.warning("rollup compaction failed", exc_info=True)
