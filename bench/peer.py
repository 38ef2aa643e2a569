"""The peer in the same run: Datasette on SQLite, loaded with the same events and the indexes
a careful Datasette user would add, served immutable (`-i`, the fastest way to serve a file
that does not change), measured on the same filtered page and the full CSV stream.

Needs the bench extra: `pip install -e '.[bench]'` (datasette, sqlite-utils)."""

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.common import Server, log, percentiles

# The same page as the dashboard's main query (D1): one region, half a year, newest first.
PAGE = {
    "region_code": "RU-BEL",
    "event_date__gte": "2024-01-01",
    "event_date__lte": "2024-06-30",
    "_sort_desc": "event_date",
    "_size": "100",
    "_nocount": "1",
    "_nosuggest": "1",
    "_shape": "objects",
}
INDEXES = (
    ["region_code", "event_date"],
    ["country", "event_type", "event_date"],
    ["event_date"],
)


def _rows(ndjson: Path) -> Iterator[dict[str, Any]]:
    with ndjson.open("rb") as file:
        for line in file:
            event = orjson.loads(line)
            # Lists become JSON text columns, as sqlite-utils stores them.
            yield {
                **{k: v for k, v in event.items() if k not in ("units", "sources", "tags")},
                "units": orjson.dumps(event["units"]).decode(),
                "sources": orjson.dumps(event["sources"]).decode(),
                "tags": orjson.dumps(event["tags"]).decode(),
            }


def load(ndjson: Path, path: Path) -> int:
    """The events into a SQLite file, indexed; returns the row count."""
    import sqlite_utils

    path.unlink(missing_ok=True)
    db = sqlite_utils.Database(path)
    table = db.table("events")
    table.insert_all(_rows(ndjson), batch_size=5000)
    for columns in INDEXES:
        table.create_index(columns)
    db.analyze()
    count = table.count
    db.close()
    return count


class Peer:
    """Datasette serving the file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        command = [sys.executable, "-m", "datasette", "serve", "-i", str(path), "--host",
                   "127.0.0.1", "--setting", "sql_time_limit_ms", "600000",
                   "--setting", "max_csv_mb", "0",
                   # facet suggestions cost seconds a page at 1M rows: a dashboard turns them off
                   "--setting", "suggest_facets", "off"]  # fmt: skip
        self.server = Server(command, {}, "/-/versions.json")
        self.base_url = self.server.base_url
        self.table = f"/{path.stem}/events"

    def page(self, requests: int) -> dict[str, float]:
        from bench.__main__ import timed_gets

        with httpx.Client(base_url=self.base_url, timeout=None) as client:
            first = client.get(self.table + ".json", params=PAGE)
            first.raise_for_status()
            rows = first.json()["rows"]
            if len(rows) != 100:
                raise RuntimeError(f"the peer's page has {len(rows)} rows")
            return percentiles(timed_gets(client, self.table + ".json", requests, params=PAGE))

    def csv(self, expected_rows: int) -> dict[str, float]:
        from bench.__main__ import stream_to_null

        with httpx.Client(base_url=self.base_url, timeout=None) as client:
            url = self.table + ".csv?_stream=on&_size=max"
            seconds, size, lines, _, first = stream_to_null(
                client, url, {"Accept-Encoding": "identity"}, lambda: self.server.rss
            )
        if lines < expected_rows:
            raise RuntimeError(f"the peer's CSV stream has {lines} lines of {expected_rows}")
        return {"rows_per_s": expected_rows / seconds, "bytes": size, "seconds": seconds,
                "first_byte_ms": first * 1000}  # fmt: skip

    def stop(self) -> None:
        self.server.stop()


def measure(ndjson: Path, workdir: Path, events: int, requests: int) -> dict[str, Any]:
    log("peer: loading the events into SQLite for Datasette")
    path = workdir / "peer.db"
    loaded = load(ndjson, path)
    if loaded != events:
        raise RuntimeError(f"the peer loaded {loaded} of {events} events")
    peer = Peer(path)
    try:
        log("peer: the filtered page")
        page = peer.page(requests)
        log("peer: the full CSV stream")
        csv = peer.csv(events)
    finally:
        peer.stop()
        path.unlink(missing_ok=True)
    return {"page": page, "csv": csv, "datasette": _version()}


def _version() -> str:
    from importlib.metadata import version

    return f"datasette {version('datasette')}, sqlite-utils {version('sqlite-utils')}"
