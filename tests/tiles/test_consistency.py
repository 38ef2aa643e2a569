"""Tiles that stay true to the events: a cluster's box from the cells counts only the events
still there, and a tile's ETag (as the stats') moves when any write commits, whatever order
the writes took their sequence numbers in."""

import mapbox_vector_tile
from sqlalchemy import text

from tests.conftest import ClientFactory
from tests.factories import create_event, event_body
from tests.live import bearer, live_app
from tests.tiles.test_tiles import clusters, fetch, points, tile_of

# A filter every event matches, so that the tile is counted from the events, not the cells.
EVERY_TYPE = {
    "event_type": "battles,explosions_remote_violence,violence_against_civilians,protests,riots,"
    "strategic_developments"
}


async def test_expansion_zoom_from_the_cells_ignores_events_no_longer_there(
    client_for: ClientFactory,
):
    """event_cell's uncompacted deltas (+1 then -1 for an event deleted, moved or given another
    status or region) must not widen a cluster's box: its expansion_zoom would say where it
    splits by events that are gone (and hint where a deleted event was)."""
    analyst, reader = client_for("analyst"), client_for("reader")
    for i in range(2):
        await create_event(analyst, lat=50.95 + i * 0.0004, lon=35.55 + i * 0.0003)
    # ~5 km east: the same zoom 7 cluster cell, another zoom 14 cell.
    gone = await create_event(analyst, lat=50.95, lon=35.62)
    z = 7
    x, y = tile_of(50.95, 35.55, z)
    assert (await analyst.delete(f"/v1/events/{gone['id']}")).status_code == 204
    from_cells = await fetch(reader, z, x, y)
    from_events = await fetch(reader, z, x, y, **EVERY_TYPE)
    # The two events left stand in one village: they split only where every event is a point.
    (cluster,) = clusters(from_events)
    assert (cluster["count"], cluster["expansion_zoom"]) == (2, 12)
    assert clusters(from_cells) == clusters(from_events)
    assert points(from_cells) == points(from_events) == {}


async def test_a_tile_etag_moves_when_an_earlier_write_commits_last(fresh_database_url: str):
    """A sequence number is taken when a write happens, not when it commits: a write that took
    its number first and commits last (a long import, any slow transaction) must still move
    the ETag of a tile, and of the stats, read between the two commits."""
    async with live_app(fresh_database_url) as (database, keys, client):
        analyst, reader = bearer(keys, "analyst"), bearer(keys, "reader")
        made = await client.post(
            "/v1/events", json=event_body(lat=50.95, lon=35.55), headers=analyst
        )
        assert made.status_code == 201, made.text
        event_id = made.json()["id"]
        path = "/v1/tiles/7/{}/{}.mvt".format(*tile_of(50.95, 35.55, 7))
        async with database.write_engine.connect() as slow, slow.begin():
            # A write that takes its change-feed seq now (its document changes) and
            # commits after the next one: the event becomes verified.
            await slow.execute(
                text(
                    "UPDATE event SET status = 'verified', doc = doc || ' '"
                    " WHERE id = CAST(:id AS uuid)"
                ),
                {"id": event_id},
            )
            quick = await client.post(
                "/v1/events", json=event_body(lat=10.0, lon=10.0), headers=analyst
            )
            assert quick.status_code == 201, quick.text
            stats_before = await client.get("/v1/stats/summary", headers=reader)
            before = await client.get(path, headers=reader)
            assert before.status_code == 200
            (point,) = mapbox_vector_tile.decode(before.content)["events"]["features"]
            assert point["properties"]["status"] == "claimed"
        after = await client.get(path, headers={**reader, "If-None-Match": before.headers["ETag"]})
        assert after.status_code == 200, "a stale tile answered 304"
        stats_after = await client.get(
            "/v1/stats/summary",
            headers={**reader, "If-None-Match": stats_before.headers["ETag"]},
        )
        assert stats_after.status_code == 200, "stale stats answered 304"
        by_status = {total["key"]: total["count"] for total in stats_after.json()["by_status"]}
        assert by_status == {"verified": 1, "claimed": 1}
        (point,) = mapbox_vector_tile.decode(after.content)["events"]["features"]
        assert point["properties"]["status"] == "verified"
