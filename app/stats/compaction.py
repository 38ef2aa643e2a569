"""Folds the rollup's appended deltas together, in the background, one process at a time."""

import asyncio
import logging

from sqlalchemy import text

from app.db import Database

log = logging.getLogger("app.stats")

# Any constant: pg_try_advisory_lock keys are shared by every process on the database.
COMPACTION_LOCK = 0x17C0_11AB


async def compact_once(database: Database) -> int | None:
    """Compact if no other process is doing it; the number of delta rows folded, or None."""
    async with database.write_engine.connect() as conn:
        if not await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": COMPACTION_LOCK}):
            return None
        try:
            folded = int(await conn.scalar(text("SELECT itk_rollup_compact()")) or 0)
            await conn.commit()
            return folded
        finally:
            await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": COMPACTION_LOCK})
            await conn.commit()


async def run_compactor(database: Database, interval_s: float) -> None:
    """Compact every interval_s seconds until cancelled; errors are logged, not fatal."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            folded = await compact_once(database)
            if folded:
                log.info("rollup compacted", extra={"rows": folded})
        except Exception:  # a database outage must not end the loop
            log.warning("rollup compaction failed", exc_info=True)
