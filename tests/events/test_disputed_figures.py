"""The sources' figures in the numbers: stats sum the events' low, best and high estimates of
fatalities (from the rollup and from the events alike), `disputed_figures` finds the events
whose sources disagree by more than a factor of two, and the UCDP-GED CSV profile carries best,
low, high, the precisions and the sides."""

import csv
import io
import json
from typing import Any

import httpx
import pytest

from tests.conftest import ClientFactory, assert_problem
from tests.events.test_source_figures import INDEPENDENT, NO_FIGURES, OFFICIAL, OTHER_SIDE
from tests.factories import create_event
from tests.live import KeyedClient, bearer, live_app

MEASURES = ("count", "fatalities", "fatalities_low", "fatalities_best", "fatalities_high")


def _graded(name: str, fatalities: int, grade: str = "B2") -> dict[str, Any]:
    return {"source_name": name, "reliability": grade[0], "credibility": grade[1],
            "figures": {"fatalities": fatalities}}  # fmt: skip


async def _sums(client: httpx.AsyncClient, **params: Any) -> dict[str, int]:
    """The monthly series' sums, checked against the summary's totals."""
    series = await client.get("/v1/stats/timeseries", params={"interval": "month", **params})
    assert series.status_code == 200, series.text
    points = [point for s in series.json()["series"] for point in s["points"]]
    sums = {name: sum(point[name] for point in points) for name in MEASURES}
    summary = await client.get("/v1/stats/summary", params=params)
    assert summary.status_code == 200, summary.text
    shown = summary.json()
    assert {name: shown["total" if name == "count" else name] for name in MEASURES} == sums
    assert sum(t["fatalities_best"] for t in shown["by_status"]) == sums["fatalities_best"]
    return sums


async def _both_ways(client: httpx.AsyncClient, **params: Any) -> dict[str, int]:
    """The sums from the rollup (country filter) and from the events (a tag filter, which the
    rollup cannot answer): the same."""
    from_rollup = await _sums(client, country="RU", **params)
    from_events = await _sums(client, tag="figures-stats", **params)
    assert from_rollup == from_events
    return from_rollup


async def test_stats_sum_low_best_and_high_as_sources_come_and_go(
    client_for: ClientFactory,
) -> None:
    analyst, verifier, admin = client_for("analyst"), client_for("verifier"), client_for("admin")
    tag = {"tags": ["figures-stats"], "date_precision": "day"}
    # The seed's situation: the official claim (120, E5), the other side's (0, E4), the
    # independent assessment (4, B3): best 4, from the one graded source.
    seed = await create_event(analyst, event_date="2025-03-05", fatalities=None, **tag,
                              sources=[OFFICIAL, OTHER_SIDE, INDEPENDENT])  # fmt: skip
    # Only a recorded figure: low, best and high are it.
    await create_event(analyst, event_date="2025-03-20", fatalities=3, sources=[NO_FIGURES], **tag)
    # Graded claims of 2 and 10 and none recorded: 2 to 10, best the lower median 2.
    spread = await create_event(analyst, event_date="2025-04-02", fatalities=None, **tag,
                                sources=[_graded("Reuters", 2), _graded("AP", 10)])  # fmt: skip
    assert await _both_ways(analyst) == {
        "count": 3, "fatalities": 3,
        "fatalities_low": 4 + 3 + 2, "fatalities_best": 4 + 3 + 2, "fatalities_high": 4 + 3 + 10,
    }  # fmt: skip
    march = await analyst.get(
        "/v1/stats/timeseries", params={"interval": "month", "country": "RU"}
    )  # fmt: skip
    first = march.json()["series"][0]["points"][0]
    assert (first["t"], first["fatalities_low"], first["fatalities_high"]) == ("2025-03-01", 7, 7)

    # A source added widens the span; a date range cuts at its edges like the counts.
    added = await analyst.post(f"/v1/events/{spread['id']}/sources", json=_graded("AFP", 30))
    assert added.status_code == 201, added.text
    assert (await _both_ways(analyst))["fatalities_high"] == 4 + 3 + 30
    assert (await _both_ways(analyst, date_from="2025-04-01"))["fatalities_best"] == 10

    # The analyst records a best; the sums follow (fatalities too).
    patched = await analyst.patch(
        f"/v1/events/{spread['id']}", json={"fatalities": 25, "rationale": "Named lists."},
        headers={"If-Match": added.headers["etag"]},
    )  # fmt: skip
    assert patched.status_code == 200, patched.text
    assert await _both_ways(analyst) == {
        "count": 3, "fatalities": 28,
        "fatalities_low": 4 + 3 + 2, "fatalities_best": 4 + 3 + 25, "fatalities_high": 4 + 3 + 30,
    }  # fmt: skip

    # Merged into the seed event, the three graded claims join its one: 2 to 30 (best is the
    # seed's, none recorded: the lower median of 2, 4, 10, 30, i.e. 4) and the sums drop the
    # merged event.
    merged = await verifier.post(f"/v1/events/{spread['id']}/merge", json={"into": seed["id"]})
    assert merged.status_code == 200, merged.text
    assert merged.json()["estimates"]["fatalities"] == {
        "low": 2, "best": 4, "high": 30, "sources": 4, "basis": "graded"
    }  # fmt: skip
    assert await _both_ways(analyst) == {
        "count": 2, "fatalities": 3,
        "fatalities_low": 2 + 3, "fatalities_best": 4 + 3, "fatalities_high": 30 + 3,
    }  # fmt: skip
    # Unmerged, the merged event's sources leave the seed event again.
    unmerged = await admin.post(f"/v1/events/{spread['id']}/unmerge")
    assert unmerged.status_code == 200, unmerged.text
    seed_now = (await analyst.get(f"/v1/events/{seed['id']}")).json()
    assert seed_now["estimates"]["fatalities"]["high"] == 4
    assert (await _both_ways(analyst))["fatalities_high"] == 4 + 3 + 30
    # A deleted event leaves the sums.
    assert (await analyst.delete(f"/v1/events/{seed['id']}")).status_code == 204
    assert (await _both_ways(analyst))["fatalities_best"] == 3 + 25


async def test_disputed_figures_filter_lists_exports_and_stats(fresh_database_url: str) -> None:
    async with live_app(fresh_database_url) as (_, keys, client):
        analyst, reader = (
            KeyedClient(client, bearer(keys, role)) for role in ("analyst", "reader")
        )
        await _disputed_figures(analyst, reader)


async def _disputed_figures(analyst: Any, reader: Any) -> None:
    tag = {"tags": ["disputed"]}
    # 120 against 0 and 4: disputed, although the estimate rests on the one graded claim.
    seed = await create_event(analyst, sources=[OFFICIAL, OTHER_SIDE, INDEPENDENT], **tag)
    # 10 against 20: within a factor of two.
    close = await create_event(analyst, sources=[_graded("A", 10), _graded("B", 20, "E5")], **tag)
    # 0 against 2 (a smallest of 0 counts as 1): not disputed; against 3 it would be.
    small = await create_event(analyst, sources=[_graded("A", 0), _graded("B", 2)], **tag)
    plain = await create_event(analyst, sources=[NO_FIGURES], **tag)
    shown = {e["id"]: e["figures_disputed"] for e in (seed, close, small, plain)}
    assert shown == {seed["id"]: True, close["id"]: False, small["id"]: False, plain["id"]: False}

    async def listed(value: str) -> set[str]:
        response = await reader.get(
            "/v1/events", params={"tag": "disputed", "disputed_figures": value, "limit": 100}
        )
        assert response.status_code == 200, response.text
        return {e["id"] for e in response.json()["items"]}

    assert await listed("true") == {seed["id"]}
    assert await listed("false") == {close["id"], small["id"], plain["id"]}
    # A third source's figure tips `small` over.
    tipped = await analyst.post(f"/v1/events/{small['id']}/sources", json=_graded("C", 3))
    assert tipped.status_code == 201, tipped.text
    assert tipped.json()["figures_disputed"] is True
    assert await listed("true") == {seed["id"], small["id"]}

    # Exports and stats take the filter too (the stats read the events: the rollup cannot).
    exported = await reader.get(
        "/v1/exports/events.ndjson", params={"tag": "disputed", "disputed_figures": "true"}
    )
    assert {json.loads(line)["id"] for line in exported.text.splitlines()} == {
        seed["id"], small["id"]
    }  # fmt: skip
    for value, expected in (("true", 2), ("false", 2)):
        summary = await reader.get(
            "/v1/stats/summary", params={"country": "RU", "disputed_figures": value}
        )
        assert summary.status_code == 200, summary.text
        assert summary.json()["total"] == expected
    assert_problem(await reader.get("/v1/events", params={"disputed_figures": "maybe"}), 422)


async def test_our_csv_carries_the_estimate(fresh_database_url: str) -> None:
    async with live_app(fresh_database_url) as (_, keys, client):
        analyst, reader = (
            KeyedClient(client, bearer(keys, role)) for role in ("analyst", "reader")
        )
        await _csv_estimate(analyst, reader)


async def _csv_estimate(analyst: Any, reader: Any) -> None:
    await create_event(analyst, sources=[OFFICIAL, OTHER_SIDE], tags=["csv-estimate"])
    exported = await reader.get("/v1/exports/events.csv", params={"tag": "csv-estimate"})
    (row,) = csv.DictReader(io.StringIO(exported.text))
    assert (row["fatalities_low"], row["fatalities_best"], row["fatalities_high"]) == (
        "0", "0", "120"
    )  # fmt: skip
    assert row["figures_disputed"] == "true"
    # The same columns when chosen with fields= (rendered live, not the stored line).
    chosen = await reader.get(
        "/v1/exports/events.csv",
        params={"tag": "csv-estimate", "fields": "fatalities_best,figures_disputed"},
    )
    assert chosen.text.splitlines() == ["fatalities_best,figures_disputed", "0,true"]


async def test_the_ucdp_ged_profile(fresh_database_url: str) -> None:
    async with live_app(fresh_database_url) as (_, keys, client):
        analyst, reader = (
            KeyedClient(client, bearer(keys, role)) for role in ("analyst", "reader")
        )
        await _ucdp(analyst, reader)


async def _ucdp(analyst: Any, reader: Any) -> None:
    units = [
        {"name": "225th Separate Assault Regiment", "side": "UA"},
        {"name": "47th Separate Mechanized Brigade", "side": "UA"},
        {"name": "Akhmat", "side": "RU"},
    ]
    seed = await create_event(
        analyst, sources=[OFFICIAL, OTHER_SIDE, INDEPENDENT], units=units, tags=["ucdp"],
        civilian_fatalities=None, date_precision="week", event_date="2025-03-12",
    )  # fmt: skip
    regional = await create_event(
        analyst, sources=[NO_FIGURES], units=units[:1], tags=["ucdp"], lat=None, lon=None,
        geo_precision="region", fatalities=2, date_precision="day", external_id="ged-2",
        external_source="ucdp-test",
    )  # fmt: skip
    exported = await reader.get(
        "/v1/exports/events.csv", params={"tag": "ucdp", "profile": "ucdp", "sort": "event_date"}
    )
    assert exported.status_code == 200, exported.text
    assert "-ucdp.csv" in exported.headers["content-disposition"]
    rows = {row["id"]: row for row in csv.DictReader(io.StringIO(exported.text))}
    first, second = rows[seed["id"]], rows[regional["id"]]
    assert {name: first[name] for name in ("best", "low", "high", "date_prec", "where_prec")} == {
        "best": "4", "low": "4", "high": "4", "date_prec": "3", "where_prec": "2"
    }  # fmt: skip
    assert (first["date_start"], first["date_end"], first["year"]) == (
        "2025-03-10", "2025-03-16", "2025"
    )  # fmt: skip
    assert (first["side_a"], first["side_b"]) == (
        "Government of Ukraine",
        "Government of Russian Federation",
    )
    assert first["dyad_name"] == "Government of Ukraine - Government of Russian Federation"
    assert first["deaths_civilians"] == "0"  # the other side's claim, the only one
    assert first["number_of_sources"] == "3"
    assert first["adm_1"] == "Belgorod Oblast"
    assert first["geom_wkt"] == "POINT (35.55 50.95)"
    assert first["country"] == "Russian Federation"
    figures = (second["relid"], second["best"], second["low"], second["high"])
    assert figures == ("ged-2", "2", "2", "2")
    assert (second["side_b"], second["where_prec"], second["date_prec"]) == ("", "4", "1")
    assert second["latitude"] == second["geom_wkt"] == ""

    # Sides in any case are one state; units of an unknown side (ACLED's) are named; a best
    # the analyst recorded outside the sources' span widens low-high; no point is never
    # "exact"; the civilians never outnumber best.
    odd = [
        await create_event(
            analyst, tags=["ucdp-odd"], external_source="ucdp-odd", external_id=external_id,
            **changes,
        )
        for external_id, changes in (
            ("cases", {"units": [{"name": "A", "side": "ua"}, {"name": "B", "side": "UA"}]}),
            ("unknown", {"units": [{"name": "Wagner Group", "side": "unknown"},
                                   {"name": "Military Forces of Russia", "side": "unknown"}]}),
            ("recorded", {"fatalities": 100, "sources": [INDEPENDENT]}),
            ("no point", {"lat": None, "lon": None, "geo_precision": "exact"}),
            ("civilians", {"fatalities": None, "sources": [
                {"source_name": "Reuters", "reliability": "B", "credibility": "2",
                 "figures": {"fatalities": 2}},
                {"source_name": "Rybar", "figures": {"fatalities": 50, "civilian_fatalities": 40}},
            ]}),
        )
    ]  # fmt: skip
    exported = await reader.get(
        "/v1/exports/events.csv", params={"tag": "ucdp-odd", "profile": "ucdp"}
    )
    rows = {row["relid"]: row for row in csv.DictReader(io.StringIO(exported.text))}
    assert len(rows) == len(odd)
    assert (rows["cases"]["side_a"], rows["cases"]["side_b"]) == ("Government of Ukraine", "")
    assert (rows["unknown"]["side_a"], rows["unknown"]["side_b"]) == (
        "Wagner Group", "Military Forces of Russia"
    )  # fmt: skip
    recorded = rows["recorded"]
    assert (recorded["low"], recorded["best"], recorded["high"]) == ("4", "100", "100")
    assert rows["no point"]["where_prec"] == "4"
    civilians = rows["civilians"]
    assert (civilians["best"], civilians["deaths_civilians"]) == ("2", "2")


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/exports/events.ndjson", {"profile": "ucdp"}),
        ("/v1/exports/events.csv", {"profile": "ucdp", "fields": "best"}),
        ("/v1/exports/events.csv", {"profile": "ged"}),
    ],
)
async def test_bad_profile_requests(
    client_for: ClientFactory, path: str, params: dict[str, str]
) -> None:
    assert_problem(await client_for("reader").get(path, params=params), 422)
