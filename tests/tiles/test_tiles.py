"""Vector tiles through HTTP: decoded with mapbox-vector-tile, checked against positions and
counts worked out here with the usual slippy-map formulas."""

import math
import random
from typing import Any

import httpx
import mapbox_vector_tile
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.conftest import ClientFactory, assert_problem
from tests.factories import create_event

EXTENT = 4096
STATUSES = ("claimed", "verified", "disputed", "refuted")


def tile_of(lat: float, lon: float, z: int) -> tuple[int, int]:
    n = 2**z
    row = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return int((lon + 180) / 360 * n), int(row)


def near_enough(drawn: list[float], want: tuple[float, float], z: int) -> bool:
    """Within one position of the 2^24 grid the server counts in (2.4 m at the equator)."""
    slack = max(EXTENT / 2 ** (24 - z), 1) + 0.5
    return abs(drawn[0] - want[0]) <= slack and abs(drawn[1] - want[1]) <= slack


def pixel_of(lat: float, lon: float, z: int, x: int, y: int) -> tuple[float, float]:
    n = 2**z
    row = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return ((lon + 180) / 360 * n - x) * EXTENT, (row - y) * EXTENT


async def fetch(client: httpx.AsyncClient, z: int, x: int, y: int, **params: Any) -> dict[str, Any]:
    response = await client.get(f"/v1/tiles/{z}/{x}/{y}.mvt", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    decoded: dict[str, Any] = mapbox_vector_tile.decode(
        response.content, default_options={"y_coord_down": True}
    )
    for layer in decoded.values():
        assert layer["extent"] == EXTENT
    return decoded


def points(tile: dict[str, Any]) -> dict[str, dict[str, Any]]:
    features = tile.get("events", {}).get("features", [])
    return {f["properties"]["id"]: f for f in features}


def clusters(tile: dict[str, Any]) -> list[dict[str, Any]]:
    return [f["properties"] for f in tile.get("clusters", {}).get("features", [])]


def total(tile: dict[str, Any]) -> int:
    return len(points(tile)) + sum(c["count"] for c in clusters(tile))


async def test_points_at_high_zoom_carry_the_event_where_it_is(client_for: ClientFactory):
    analyst = client_for("analyst")
    near = await create_event(analyst, lat=50.951, lon=35.551, location_name="Demidovka")
    other = await create_event(
        analyst, lat=50.9512, lon=35.5513, event_type="protests", sub_event_type="peaceful_protest"
    )
    z = 14
    x, y = tile_of(50.951, 35.551, z)
    assert tile_of(50.9512, 35.5513, z) == (x, y)
    tile = await fetch(client_for("reader"), z, x, y)
    found = points(tile)
    assert set(found) == {near["id"], other["id"]}
    assert clusters(tile) == []
    assert found[near["id"]]["properties"] == {
        "id": near["id"],
        "status": "claimed",
        "event_type": "battles",
        "event_date": "2025-03-01",
        "location_name": "Demidovka",
    }
    assert found[other["id"]]["properties"]["event_type"] == "protests"
    for event, (lat, lon) in ((near, (50.951, 35.551)), (other, (50.9512, 35.5513))):
        drawn = found[event["id"]]["geometry"]
        assert drawn["type"] == "Point"
        assert near_enough(drawn["coordinates"], pixel_of(lat, lon, z, x, y), z)
    # The neighbouring tile has neither.
    assert await fetch(client_for("reader"), z, x + 1, y) == {}


async def _village_and_outlier(analyst: httpx.AsyncClient) -> tuple[list[str], str]:
    """Five events in one village, one of them refuted, and one event 50 km away."""
    village = [
        (await create_event(analyst, lat=50.95 + i * 0.0004, lon=35.55 + i * 0.0003))["id"]
        for i in range(5)
    ]
    outlier = await create_event(analyst, lat=51.4, lon=36.0)
    return village, outlier["id"]


async def test_low_zooms_cluster_by_status_and_a_lone_event_stays_a_point(
    client_for: ClientFactory, connection: AsyncConnection
):
    analyst, verifier = client_for("analyst"), client_for("verifier")
    village, outlier = await _village_and_outlier(analyst)
    for event_id, status in ((village[0], "verified"), (village[1], "refuted")):
        body = {"status": status, "rationale": "Geolocated footage."}
        response = await verifier.post(f"/v1/events/{event_id}/status", json=body)
        assert response.status_code == 200, response.text
    z = 7
    x, y = tile_of(50.95, 35.55, z)
    assert tile_of(51.4, 36.0, z) == (x, y)
    reader = client_for("reader")
    # From the rollup of cells (no filter), from the events (a filter the cells do not hold)
    # and after the cells' deltas are folded: the same clusters.
    answers = [
        await fetch(reader, z, x, y),
        await fetch(reader, z, x, y, event_type="battles"),
        await fetch(reader, z, x, y, country="RU", region="Belgorod"),
    ]
    await connection.execute(text("SELECT itk_cells_compact()"))
    answers.append(await fetch(reader, z, x, y))
    for tile in answers:
        (cluster,) = clusters(tile)
        assert cluster == {
            "count": 5,
            "claimed": 3,
            "verified": 1,
            "disputed": 0,
            "refuted": 1,
            "expansion_zoom": 12,
        }
        assert set(points(tile)) == {outlier}
        (drawn,) = tile["clusters"]["features"]
        centre = pixel_of(50.9508, 35.5506, z, x, y)  # the five's
        assert near_enough(drawn["geometry"]["coordinates"], centre, z)
    # Country and region: the rollup answers them too.
    assert await fetch(reader, z, x, y, region="UA-59") == {}
    assert await fetch(reader, z, x, y, country="UA") == {}
    # A status filter: the rollup answers it too.
    only = await fetch(reader, z, x, y, status="verified,refuted")
    (cluster,) = clusters(only)
    assert (cluster["count"], cluster["verified"], cluster["refuted"]) == (2, 1, 1)
    assert points(only) == {}
    verified = await fetch(reader, z, x, y, status="verified")
    assert set(points(verified)) == {village[0]}
    assert clusters(verified) == []
    # At zoom 12 the cluster is its five events.
    x, y = tile_of(50.95, 35.55, 12)
    assert set(points(await fetch(reader, 12, x, y))) == set(village)


async def test_a_cluster_says_where_it_splits(client_for: ClientFactory):
    analyst = client_for("analyst")
    # Two events about 1.5 km apart: one cluster at zoom 5, two points by zoom 11 or so.
    for lat, lon in ((50.95, 35.55), (50.95, 35.57)):
        await create_event(analyst, lat=lat, lon=lon)
    reader = client_for("reader")
    z = 5
    x, y = tile_of(50.95, 35.55, z)
    (cluster,) = clusters(await fetch(reader, z, x, y))
    split = cluster["expansion_zoom"]
    assert z < split <= 12
    x, y = tile_of(50.95, 35.55, split)
    below = await fetch(reader, split - 1, *tile_of(50.95, 35.55, split - 1))
    assert len(clusters(below)) == 1
    assert points(below) == {}
    tiles = {tile_of(50.95, 35.55, split), tile_of(50.95, 35.57, split)}
    found = [await fetch(reader, split, tx, ty) for tx, ty in tiles]
    assert sum(len(points(tile)) for tile in found) == 2
    assert all(clusters(tile) == [] for tile in found)


async def test_each_event_is_in_exactly_one_tile(client_for: ClientFactory):
    """Events on tile edges and near them: the four children of a tile hold exactly what it
    holds, counted from the cells and from the events alike."""
    analyst = client_for("analyst")
    z = 6
    x, y = tile_of(50.5, 35.5, z)
    # The tile's west edge and its middle column (an edge of its children) as longitudes.
    west = x / 2**z * 360 - 180
    middle = (x + 0.5) / 2**z * 360 - 180
    rng = random.Random(7)
    placed = [(50.5, west), (50.5, middle), (50.6, middle - 1e-9), (50.4, middle + 1e-9)]
    placed += [(rng.uniform(49.5, 52), rng.uniform(west - 1, west + 6)) for _ in range(12)]
    for lat, lon in placed:
        await create_event(analyst, lat=round(lat, 9), lon=round(lon, 9))
    reader = client_for("reader")
    for params in ({}, {"event_type": "battles"}):
        parent = total(await fetch(reader, z, x, y, **params))
        children = [
            total(await fetch(reader, z + 1, 2 * x + dx, 2 * y + dy, **params))
            for dx in (0, 1)
            for dy in (0, 1)
        ]
        inside = [(lat, lon) for lat, lon in placed if tile_of(lat, lon, z) == (x, y)]
        assert parent == sum(children) == len(inside) >= 4
    world = await fetch(reader, 0, 0, 0)
    assert total(world) == len(placed)


async def test_moves_deletions_and_statuses_follow_at_once(client_for: ClientFactory):
    analyst, admin = client_for("analyst"), client_for("admin")
    village, outlier = await _village_and_outlier(analyst)
    reader = client_for("reader")
    z = 7
    x, y = tile_of(50.95, 35.55, z)
    # Moved far away, into another tile.
    response = await analyst.get(f"/v1/events/{village[0]}")
    moved = await analyst.patch(
        f"/v1/events/{village[0]}",
        json={"lat": 48.0, "lon": 37.8},
        headers={"If-Match": response.headers["ETag"]},
    )
    assert moved.status_code == 200, moved.text
    assert (await analyst.delete(f"/v1/events/{village[1]}")).status_code == 204
    tile = await fetch(reader, z, x, y)
    (cluster,) = clusters(tile)
    assert cluster["count"] == 3
    assert set(points(tile)) == {outlier}
    there = await fetch(reader, z, *tile_of(48.0, 37.8, z))
    assert set(points(there)) == {village[0]}
    # A region corrected: the region filter follows (from the cells and from the events).
    response = await analyst.get(f"/v1/events/{village[2]}")
    regioned = await analyst.patch(
        f"/v1/events/{village[2]}",
        json={"region_code": "RU-KRS"},
        headers={"If-Match": response.headers["ETag"]},
    )
    assert regioned.status_code == 200, regioned.text
    for extra in ({}, {"event_type": "battles"}):
        assert set(points(await fetch(reader, z, x, y, region="RU-KRS", **extra))) == {village[2]}
        (cluster,) = clusters(await fetch(reader, z, x, y, region="RU-BEL", **extra))
        assert cluster["count"] == 2
    # Deleted events are for admins who ask (include_deleted), and only them.
    assert_problem(
        await reader.get(f"/v1/tiles/{z}/{x}/{y}.mvt", params={"include_deleted": "true"}), 403
    )
    with_deleted = await fetch(admin, 12, *tile_of(50.95, 35.55, 12), include_deleted="true")
    assert village[1] in points(with_deleted)
    assert village[1] not in points(await fetch(admin, 12, *tile_of(50.95, 35.55, 12)))


async def test_every_list_filter_applies(client_for: ClientFactory):
    analyst = client_for("analyst")
    kept = await create_event(
        analyst, lat=50.95, lon=35.55, event_date="2024-06-01", tags=["drone"], date_precision="day"
    )
    await create_event(analyst, lat=50.95, lon=35.55, event_date="2024-07-01", tags=["drone"])
    await create_event(analyst, lat=50.95, lon=35.55, event_date="2024-06-02", tags=[])
    reader = client_for("reader")
    for z in (5, 13):
        x, y = tile_of(50.95, 35.55, z)
        tile = await fetch(
            reader, z, x, y, date_from="2024-06-01", date_to="2024-06-30", tag="drone"
        )
        assert set(points(tile)) == {kept["id"]}
        assert clusters(tile) == []
        assert total(await fetch(reader, z, x, y, q="nothing-like-this")) == 0
        assert total(await fetch(reader, z, x, y, bbox="35.5,50.9,35.6,51.0")) == 3
        assert total(await fetch(reader, z, x, y, bbox="30,45,31,46")) == 0


async def test_crowded_tiles_at_high_zoom_are_clustered(
    client_for: ClientFactory, monkeypatch: pytest.MonkeyPatch
):
    from app.tiles import service

    monkeypatch.setattr(service, "POINT_LIMIT", 3)
    analyst = client_for("analyst")
    ids = [(await create_event(analyst, lat=50.95, lon=35.55))["id"] for _ in range(4)]
    reader = client_for("reader")
    z = 13
    x, y = tile_of(50.95, 35.55, z)
    tile = await fetch(reader, z, x, y)
    (cluster,) = clusters(tile)
    assert cluster["count"] == 4
    assert points(tile) == {}
    # One place: splitting needs no zoom the grid knows; the next zoom is offered.
    assert cluster["expansion_zoom"] == z + 1
    await analyst.delete(f"/v1/events/{ids[0]}")
    assert set(points(await fetch(reader, z, x, y))) == set(ids[1:])


async def test_unchanged_tiles_are_not_sent_again(client_for: ClientFactory):
    analyst = client_for("analyst")
    await create_event(analyst, lat=50.95, lon=35.55)
    reader = client_for("reader")
    path = "/v1/tiles/7/{}/{}.mvt".format(*tile_of(50.95, 35.55, 7))
    first = await reader.get(path)
    tag = first.headers["ETag"]
    again = await reader.get(path, headers={"If-None-Match": tag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["ETag"] == tag
    filtered = await reader.get(path, params={"status": "claimed"})
    assert filtered.headers["ETag"] != tag
    other = await reader.get("/v1/tiles/7/0/0.mvt")
    assert other.headers["ETag"] != tag
    await create_event(analyst, lat=50.95, lon=35.55)
    changed = await reader.get(path, headers={"If-None-Match": tag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != tag
    assert clusters(mapbox_vector_tile.decode(changed.content))[0]["count"] == 2


async def test_bad_tiles_and_filters_are_refused(client_for: ClientFactory):
    reader = client_for("reader")
    for path in ("/v1/tiles/23/0/0.mvt", "/v1/tiles/2/4/0.mvt", "/v1/tiles/2/0/4.mvt",
                 "/v1/tiles/-1/0/0.mvt", "/v1/tiles/a/0/0.mvt"):  # fmt: skip
        assert_problem(await reader.get(path), 422)
    assert_problem(await reader.get("/v1/tiles/2/0/0.mvt", params={"status": "rumour"}), 422)
    assert_problem(await reader.get("/v1/tiles/2/0/0.mvt", params={"region": "XX-NOPE"}), 422)
    assert_problem(await reader.get("/v1/tiles/2/0/0.mvt", params={"colour": "red"}), 422)
    assert_problem(await client_for().get("/v1/tiles/2/0/0.mvt"), 401)
    empty = await reader.get("/v1/tiles/2/0/0.mvt")
    assert empty.status_code == 200
    assert empty.content == b""
