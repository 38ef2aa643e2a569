"""Each source's own figures through HTTP: an official claim of a repelled advance with high
losses, an independent assessment of limited gains, the other side's report; what is refused;
history; NDJSON and CSV imports and exports round-trip every figure."""

import csv
import io
import json
from typing import Any

import pytest

from tests.conftest import ClientFactory, assert_problem
from tests.factories import create_event, event_body
from tests.live import KeyedClient, bearer, live_app

NDJSON = {"content-type": "application/x-ndjson"}
OFFICIAL = {
    "source_name": "Ministry of Defence of Russia", "stance": "supports",
    "reliability": "E", "credibility": "5",
    "figures": {"fatalities": 120, "fatalities_by_side": {"ua": 120}, "outcome": "repelled",
                "captured": 6},
}  # fmt: skip
INDEPENDENT = {
    "source_name": "Institute for the Study of War", "stance": "denies",
    "reliability": "B", "credibility": "3",
    "figures": {"fatalities": 4, "fatalities_by_side": {"RU": 1, "UA": 3}, "wounded": 11,
                "outcome": "advanced"},
}  # fmt: skip
OTHER_SIDE = {
    "source_name": "General Staff of the Armed Forces of Ukraine", "stance": "denies",
    "reliability": "E", "credibility": "4",
    "figures": {"fatalities": 0, "civilian_fatalities": 0, "outcome": "advanced"},
}  # fmt: skip
NO_FIGURES = {"source_name": "Telegram channel (unverified)"}


def _full(figures: dict[str, Any] | None) -> dict[str, Any] | None:
    """Figures as the API shows them: every member, sides upper-cased."""
    if figures is None:
        return None
    shown: dict[str, Any] = {
        "fatalities": None, "fatalities_by_side": {}, "civilian_fatalities": None,
        "wounded": None, "captured": None, "outcome": None,
    }  # fmt: skip
    shown.update(figures)
    shown["fatalities_by_side"] = {k.upper(): v for k, v in shown["fatalities_by_side"].items()}
    return shown


def _figures(event: dict[str, Any]) -> list[dict[str, Any] | None]:
    return [source["figures"] for source in event["sources"]]


async def test_each_source_keeps_its_own_figures(client_for: ClientFactory) -> None:
    analyst, reader = client_for("analyst"), client_for("reader")
    event = await create_event(analyst, sources=[OFFICIAL, INDEPENDENT])
    assert _figures(event) == [_full(OFFICIAL["figures"]), _full(INDEPENDENT["figures"])]
    added = await analyst.post(f"/v1/events/{event['id']}/sources", json=OTHER_SIDE)
    assert added.status_code == 201, added.text
    plain = await analyst.post(f"/v1/events/{event['id']}/sources", json=NO_FIGURES)
    assert plain.status_code == 201, plain.text
    shown = (await reader.get(f"/v1/events/{event['id']}")).json()
    assert _figures(shown) == [
        _full(OFFICIAL["figures"]), _full(INDEPENDENT["figures"]),
        _full(OTHER_SIDE["figures"]), None,
    ]  # fmt: skip
    # The list renders the same figures (the stored document).
    listed = (await reader.get("/v1/events")).json()["items"]
    assert _figures({e["id"]: e for e in listed}[event["id"]]) == _figures(shown)
    # History: the creation and the source added record them; the rebuild has them.
    history = (await reader.get(f"/v1/events/{event['id']}/history")).json()["items"]
    assert history[0]["diff"]["sources"][0]["figures"]["outcome"] == "repelled"
    assert history[1]["diff"]["sources"]["added"]["figures"]["civilian_fatalities"] == 0
    rebuilt = (await reader.get(f"/v1/events/{event['id']}/history/{len(history)}")).json()
    assert [s["figures"] for s in rebuilt["state"]["sources"]] == _figures(shown)


@pytest.mark.parametrize(
    "figures",
    [
        {"fatalities": -1},
        {"wounded": 1_000_001},
        {"captured": True},
        {"captured": 1.5},
        {"fatalities": 3, "civilian_fatalities": 4},
        {"fatalities": 3, "fatalities_by_side": {"UA": 2, "RU": 2}},
        {"fatalities_by_side": {"UA": -1}},
        {"fatalities_by_side": {f"side {n}": 1 for n in range(11)}},
        {"fatalities_by_side": {"": 1}},
        {"outcome": "won"},
        {"killed": 3},
        [3],
        "many",
    ],
)
async def test_bad_figures_are_refused_and_change_nothing(
    client_for: ClientFactory, figures: Any
) -> None:
    analyst = client_for("analyst")
    source = {"source_name": "Rybar", "figures": figures}
    assert_problem(await analyst.post("/v1/events", json=event_body(sources=[source])), 422)
    event = await create_event(analyst)
    assert_problem(await analyst.post(f"/v1/events/{event['id']}/sources", json=source), 422)
    line = json.dumps(event_body(sources=[source], external_id="bad-figures")).encode() + b"\n"
    assert_problem(await analyst.post("/v1/imports", content=line, headers=NDJSON), 422)
    shown = (await analyst.get(f"/v1/events/{event['id']}")).json()
    assert shown["version"] == 1
    assert len(shown["sources"]) == 1


async def test_imports_and_exports_round_trip_every_figure(fresh_database_url: str) -> None:
    async with live_app(fresh_database_url) as (_, keys, client):
        reader = KeyedClient(client, bearer(keys, "reader"))
        rows = [
            event_body(external_source="figures", external_id="a", tags=["round-trip-figures"],
                       sources=[OFFICIAL, INDEPENDENT, NO_FIGURES]),
            event_body(external_source="figures", external_id="b", tags=["round-trip-figures"],
                       sources=[OTHER_SIDE]),
            event_body(external_source="figures", external_id="c", tags=["round-trip-figures"],
                       sources=[NO_FIGURES]),
        ]  # fmt: skip
        body = b"".join(json.dumps(row).encode() + b"\n" for row in rows)
        imported = await client.post(
            "/v1/imports", content=body, headers={**bearer(keys, "analyst"), **NDJSON}
        )
        assert imported.status_code == 200, imported.text
        expected = {
            "a": [_full(OFFICIAL["figures"]), _full(INDEPENDENT["figures"]), None],
            "b": [_full(OTHER_SIDE["figures"])],
            "c": [None],
        }
        ndjson = await reader.get("/v1/exports/events.ndjson", params={"tag": "round-trip-figures"})
        exported = [json.loads(line) for line in ndjson.text.splitlines()]
        assert {e["external_id"]: _figures(e) for e in exported} == expected

        # Our CSV carries them in source_figures, and reads them back.
        as_csv = await reader.get("/v1/exports/events.csv", params={"tag": "round-trip-figures"})
        rows_out = list(csv.DictReader(io.StringIO(as_csv.text)))
        cells = {row["external_id"]: row["source_figures"] for row in rows_out}
        assert cells["c"] == ""
        assert json.loads(cells["a"])[2] is None
        again = as_csv.text.replace(",figures,", ",figures-csv,")
        read_back = await client.post(
            "/v1/imports", content=again.encode(),
            headers={**bearer(keys, "analyst"), "content-type": "text/csv"},
        )  # fmt: skip
        assert read_back.status_code == 200, read_back.text
        listed = await reader.get("/v1/events", params={"tag": "round-trip-figures", "limit": 100})
        copies = [e for e in listed.json()["items"] if e["external_source"] == "figures-csv"]
        assert {e["external_id"]: _figures(e) for e in copies} == expected

        # A source_figures cell that does not fit the sources is a line error.
        broken = as_csv.text.replace(",figures,", ",figures-bad,")
        broken = broken.replace(", null]", ", null, null]")
        refused = await client.post(
            "/v1/imports", content=broken.encode(),
            headers={**bearer(keys, "analyst"), "content-type": "text/csv"},
        )  # fmt: skip
        assert "source_figures" in json.dumps(assert_problem(refused, 422))


async def test_the_estimate_follows_the_sources_and_the_analyst(client_for: ClientFactory) -> None:
    analyst, verifier, reader = client_for("analyst"), client_for("verifier"), client_for("reader")
    # The official claim alone (E5): every claim counts, none being graded.
    event = await create_event(analyst, sources=[OFFICIAL], fatalities=None)
    assert event["estimates"]["fatalities"] == {
        "low": 120, "best": 120, "high": 120, "sources": 1, "basis": "ungraded"
    }  # fmt: skip
    assert event["estimates"]["wounded"] is None
    # The other side's report (E4): the span opens, best the lower median.
    await analyst.post(f"/v1/events/{event['id']}/sources", json=OTHER_SIDE)
    shown = (await reader.get(f"/v1/events/{event['id']}")).json()
    assert shown["estimates"]["fatalities"] == {
        "low": 0, "best": 0, "high": 120, "sources": 2, "basis": "ungraded"
    }  # fmt: skip
    # An independent assessment (B3) is graded: it alone makes the estimate.
    await analyst.post(f"/v1/events/{event['id']}/sources", json=INDEPENDENT)
    shown = (await reader.get(f"/v1/events/{event['id']}")).json()
    assert shown["estimates"]["fatalities"] == {
        "low": 4, "best": 4, "high": 4, "sources": 1, "basis": "graded"
    }  # fmt: skip
    assert shown["estimates"]["wounded"]["best"] == 11
    assert shown["estimates"]["captured"]["basis"] == "ungraded"
    listed = (await reader.get("/v1/events")).json()["items"]
    assert {e["id"]: e["estimates"] for e in listed}[event["id"]] == shown["estimates"]

    # A second graded source merged in widens the span.
    other = await create_event(analyst, sources=[
        {"source_name": "Reuters", "reliability": "B", "credibility": "2",
         "figures": {"fatalities_by_side": {"UA": 9, "RU": 1}}}])  # fmt: skip
    merged = await verifier.post(f"/v1/events/{other['id']}/merge", json={"into": event["id"]})
    assert merged.status_code == 200, merged.text
    assert merged.json()["estimates"]["fatalities"] == {
        "low": 4, "best": 4, "high": 10, "sources": 2, "basis": "graded"
    }  # fmt: skip

    # The analyst records another best, with the reason, in the event's fatalities.
    etag = merged.headers["etag"]
    why = "Casualty lists from both sides' funerals: 7 named."
    patched = await analyst.patch(
        f"/v1/events/{event['id']}", json={"fatalities": 7, "rationale": why},
        headers={"If-Match": etag},
    )  # fmt: skip
    assert patched.status_code == 200, patched.text
    assert patched.json()["estimates"]["fatalities"] == {
        "low": 4, "best": 7, "high": 10, "sources": 2, "basis": "recorded"
    }  # fmt: skip
    history = (await reader.get(f"/v1/events/{event['id']}/history")).json()["items"]
    assert (history[-1]["rationale"], history[-1]["diff"]["fatalities"]) == (
        why, {"from": None, "to": 7}
    )  # fmt: skip
    cleared = await analyst.patch(
        f"/v1/events/{event['id']}", json={"fatalities": None},
        headers={"If-Match": patched.headers["etag"]},
    )  # fmt: skip
    assert cleared.json()["estimates"]["fatalities"]["basis"] == "graded"
    bad = await analyst.patch(
        f"/v1/events/{event['id']}", json={"rationale": ""},
        headers={"If-Match": cleared.headers["etag"]},
    )  # fmt: skip
    assert_problem(bad, 422)
