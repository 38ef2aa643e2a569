"""What runs beside the requests: the rollup's compactor and webhook delivery."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from app.core.config import Settings
from app.core.db import Database
from app.stats.compaction import run_compactor
from app.subscriptions.delivery import run_delivery


@asynccontextmanager
async def background_work(
    database: Database, settings: Settings, *, deliver: bool
) -> AsyncIterator[None]:
    """The compactor (unless INCIDENTS_ROLLUP_COMPACT_INTERVAL_S is 0) and, with `deliver`,
    webhook delivery, as tasks until the block ends: `incidents serve`'s lifespan and
    `incidents worker` alike."""
    tasks = []
    if settings.rollup_compact_interval_s > 0:
        tasks.append(
            asyncio.create_task(run_compactor(database, settings.rollup_compact_interval_s))
        )
    if deliver:
        tasks.append(asyncio.create_task(run_delivery(database, settings)))
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
