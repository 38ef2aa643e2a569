"""Keyset pagination over committed data while other clients keep inserting."""

import asyncio
import random

from sqlalchemy import text

from tests.factories import event_body
from tests.live import bearer, live_app

SEED = 2_500


async def test_walk_2500_events_under_concurrent_inserts(fresh_database_url: str):
    async with live_app(fresh_database_url) as (database, keys, client):
        async with database.write_engine.begin() as conn:
            await conn.execute(
                text(
                    """
                    INSERT INTO event (event_date, event_type, sub_event_type, country,
                                       region_code, location_name, lat, lon,
                                       created_by, updated_by)
                    SELECT date '2023-01-01' + (n % 700), 'battles', 'armed_clash', 'RU',
                           'RU-BEL', 'seed ' || n, 50.5, 36.5, :key, :key
                    FROM generate_series(1, :count) AS n
                    """
                ),
                {"key": keys.ids["analyst"], "count": SEED},
            )
            seeded = set((await conn.execute(text("SELECT id::text FROM event"))).scalars())
        assert len(seeded) == SEED

        stop = asyncio.Event()
        inserted: list[str] = []
        rng = random.Random(7)

        async def keep_inserting() -> None:
            while not stop.is_set():
                day = f"2023-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
                response = await client.post(
                    "/v1/events",
                    json=event_body(event_date=day, date_precision="day"),
                    headers=bearer(keys, "analyst"),
                )
                assert response.status_code == 201, response.text
                inserted.append(response.json()["id"])

        writers = [asyncio.create_task(keep_inserting()) for _ in range(2)]
        seen: list[str] = []
        cursor = None
        try:
            while True:
                params = {"limit": 97, **({"cursor": cursor} if cursor else {})}
                response = await client.get(
                    "/v1/events", params=params, headers=bearer(keys, "reader")
                )
                assert response.status_code == 200, response.text
                page = response.json()
                seen += [item["id"] for item in page["items"]]
                cursor = page["next_cursor"]
                if cursor is None:
                    break
                await asyncio.sleep(0)
        finally:
            stop.set()
            await asyncio.gather(*writers)

        assert inserted, "the writers must have inserted during the walk"
        assert len(seen) == len(set(seen)), "a page repeated an event"
        assert seeded <= set(seen), "events that existed before the walk were skipped"
        assert set(seen) <= seeded | set(inserted)
