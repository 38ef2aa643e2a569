"""python -m bench.soak --minutes 5 --clients 50 [--abusers 8]: a bounded soak of
`incidents serve`.

Clients over loopback mix list pages, single reads, stats, history, writes (creates, patches
with If-Match, added sources) and whole exports for the given time; abusers, beside them, run
every abusive pattern of ABUSE (stalled uploads, unread exports, huge series, crafted input). It passes with no 5xx, no
dropped request and the server's memory within 10% of where it stood after the warm-up.
Results go to bench/results/<date>-soak.{json,md}.
"""

import argparse
import asyncio
import datetime as dt
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from app.core.db import libpq_url
from bench import data
from bench.common import (
    ROOT,
    Server,
    log,
    machine,
    make_keys,
    percentiles,
    prepare_database,
    seed_events,
)

# Relative weights of what a client does next.
MIX = {
    "list": 30,
    "get": 15,
    "stats": 15,
    "history": 5,
    "create": 15,
    "patch": 8,
    "source": 7,
    "export": 5,
}
MEMORY_GROWTH_LIMIT = 0.10
# What an abuser does next: each is refused or cut off by a bound of the service.
ABUSE = [
    "stalled_upload",  # declares a body, sends a byte, goes quiet: 408, no connection held
    "unread_export",  # opens an export and never reads: cut off, its COPY ended
    "huge_series",  # a daily series per unit over 27 years: 422 before any work
    "many_places",  # a hundred fuzzy place names: 422
    "long_places",  # ten long fuzzy place names: bounded
    "crafted",  # times outside the calendar in UTC, cursors never handed out: 422
    "long_line",  # a 9 MiB NDJSON line: 422 naming the line
    "foreign_host",  # a trailing slash with another Host: 404, never a redirect there
]
UNREAD_EXPORT_WAIT_S = 75
# The service's bounds as the soak runs them (the defaults, but exports shared by many
# clients of one key: a deployment gives each script its own key).
SOAK_SETTINGS = {"INCIDENTS_EXPORTS_PER_KEY": "8", "INCIDENTS_EXPORTS_TOTAL": "12"}


class Soak:
    def __init__(self, base_url: str, headers: dict[str, dict[str, str]], seed: int) -> None:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        self.client = httpx.AsyncClient(base_url=base_url, limits=limits, timeout=120)
        self.headers = headers
        self.rng = random.Random(seed)
        self.bodies = data.events(1_000_000, seed + 1)
        self.ids: list[str] = []
        self.statuses: dict[str, Counter[int]] = {name: Counter() for name in MIX}
        self.latencies: dict[str, list[float]] = {name: [] for name in MIX}
        self.errors: list[str] = []
        self.stopping = False
        self.abuse_statuses: dict[str, Counter[int]] = {name: Counter() for name in ABUSE}
        self.abuse_latencies: dict[str, list[float]] = {name: [] for name in ABUSE}

    async def _request(self, kind: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
        role = "reader" if method == "GET" else "analyst"
        headers = {**self.headers[role], **kwargs.pop("headers", {})}
        started = time.perf_counter()
        if kind == "export":  # read the whole stream, as a script would
            async with self.client.stream(method, url, headers=headers, **kwargs) as response:
                async for _ in response.aiter_raw():
                    pass
        else:
            response = await self.client.request(method, url, headers=headers, **kwargs)
        self.latencies[kind].append(time.perf_counter() - started)
        self.statuses[kind][response.status_code] += 1
        if response.status_code >= 500:
            self.errors.append(f"{method} {url}: {response.status_code} {response.text[:300]}")
        return response

    async def step(self) -> None:
        kind = self.rng.choices(list(MIX), list(MIX.values()))[0]
        region = self.rng.choice(data.REGIONS)[0]
        event_id = self.rng.choice(self.ids) if self.ids else None
        if kind == "list":
            params: dict[str, Any] = {"limit": self.rng.choice([20, 100, 500])}
            if self.rng.random() < 0.6:
                params["region"] = region
            if self.rng.random() < 0.3:
                params["status"] = "claimed"
            page = await self._request(kind, "GET", "/v1/events", params=params)
            if page.status_code == 200 and (cursor := page.json()["next_cursor"]):
                params["cursor"] = cursor
                await self._request(kind, "GET", "/v1/events", params=params)
        elif kind == "stats":
            if self.rng.random() < 0.5:
                params = {"region": region, "interval": "week"}
                await self._request(kind, "GET", "/v1/stats/timeseries", params=params)
            else:
                await self._request(kind, "GET", "/v1/stats/summary", params={"region": region})
        elif kind == "export":
            fmt = self.rng.choice(["ndjson", "csv", "geojson"])
            await self._request(kind, "GET", f"/v1/exports/events.{fmt}", params={"region": region})
        elif kind == "create":
            body = {**next(self.bodies), "external_id": None, "external_source": None}
            created = await self._request(kind, "POST", "/v1/events", json=body)
            if created.status_code == 201:
                self.ids.append(created.json()["id"])
        elif event_id is None:
            return
        elif kind == "get":
            await self._request(kind, "GET", f"/v1/events/{event_id}")
        elif kind == "history":
            await self._request(kind, "GET", f"/v1/events/{event_id}/history")
        elif kind == "patch":
            current = await self.client.get(
                f"/v1/events/{event_id}", headers=self.headers["reader"]
            )
            etag = current.headers.get("etag", '"0"')
            patch = {"summary": f"soak edit {self.rng.random():.6f}"}
            # Another client may have edited it first: 412 is the expected outcome then.
            await self._request(
                kind, "PATCH", f"/v1/events/{event_id}", json=patch, headers={"If-Match": etag}
            )
        elif kind == "source":
            source = {"source_name": "Soak Monitor", "stance": "unclear"}
            await self._request(kind, "POST", f"/v1/events/{event_id}/sources", json=source)

    async def client_loop(self) -> None:
        while not self.stopping:
            try:
                await self.step()
            except httpx.TransportError as exc:
                self.errors.append(f"transport: {exc!r}")

    def _abused(self, kind: str, status: int, started: float) -> None:
        self.abuse_statuses[kind][status] += 1
        self.abuse_latencies[kind].append(time.perf_counter() - started)
        if status >= 500:
            self.errors.append(f"abuse {kind}: {status}")

    async def _stalled_upload(self) -> int:
        host, port = self.client.base_url.host, self.client.base_url.port
        reader, writer = await asyncio.open_connection(host, port)
        try:
            secret = self.headers["admin"]["Authorization"]
            writer.write(
                b"POST /v1/imports HTTP/1.1\r\nHost: soak\r\nContent-Length: 100000\r\n"
                + f"Authorization: {secret}\r\n".encode()
                + b"Content-Type: application/x-ndjson\r\n\r\n{"
            )
            await writer.drain()
            status_line = await reader.readline()  # the server's answer, once it gives up
            return int(status_line.split()[1]) if status_line else 0
        finally:
            writer.close()

    async def _unread_export(self) -> int:
        headers = self.headers["admin"]
        async with self.client.stream("GET", "/v1/exports/events.ndjson", headers=headers) as r:
            chunks = r.aiter_raw()
            if r.status_code != 200:
                return r.status_code
            await anext(chunks)
            # Read nothing for longer than the server's idle limit (60 s by default), then
            # try: the transfer must have been cut off.
            waited = 0
            while not self.stopping and waited < UNREAD_EXPORT_WAIT_S:
                await asyncio.sleep(1)
                waited += 1
            try:
                async for _ in chunks:
                    pass
            except httpx.TransportError:
                return 200  # cut off, as it should be
        if waited >= UNREAD_EXPORT_WAIT_S:
            self.errors.append("abuse unread_export: an export nobody read was never cut off")
        return 200

    async def abuse_step(self) -> None:
        kind = self.rng.choice(ABUSE)
        admin = self.headers["admin"]
        started = time.perf_counter()
        if kind == "stalled_upload":
            status = await self._stalled_upload()
        elif kind == "unread_export":
            status = await self._unread_export()
        elif kind == "huge_series":
            params = {
                "interval": "day", "date_from": "1999-01-01", "date_to": "2025-12-31",
                "group_by": "unit",
            }  # fmt: skip
            status = (
                await self.client.get("/v1/stats/timeseries", params=params, headers=admin)
            ).status_code
        elif kind in ("many_places", "long_places"):
            names = ["Demidovka" * 11] * 10 if kind == "long_places" else ["Demidovka"] * 100
            params = {"place": ",".join(name[:100] for name in names)}
            status = (await self.client.get("/v1/events", params=params, headers=admin)).status_code
        elif kind == "crafted":
            params = self.rng.choice(
                [
                    {"updated_since": "0001-01-01T00:00:00+14:00"},
                    {"updated_since": "9999-12-31T23:59:59-14:00"},
                    {"cursor": "WzkyMjMzNzIwMzY4NTQ3NzU4MDhd"},  # [9223372036854775808]
                    {"cursor": "WyJhXHUwMDAwYiJd"},  # ["a\u0000b"]
                ]
            )
            path = "/v1/sources" if "cursor" in params else "/v1/events"
            status = (await self.client.get(path, params=params, headers=admin)).status_code
        elif kind == "long_line":
            body = b'{"summary": "' + b"x" * (9 * 1024 * 1024) + b'"}\n'
            headers = {**admin, "content-type": "application/x-ndjson"}
            status = (
                await self.client.post("/v1/imports", content=body, headers=headers)
            ).status_code
        else:
            headers = {**admin, "host": "evil.example"}
            status = (await self.client.get("/v1/events/", headers=headers)).status_code
        self._abused(kind, status, started)

    async def abuser_loop(self) -> None:
        while not self.stopping:
            try:
                await self.abuse_step()
            except (httpx.TransportError, OSError) as exc:
                self.errors.append(f"abuse transport: {exc!r}")


async def soak(
    base_url: str, headers: dict[str, dict[str, str]], args: argparse.Namespace, server: Server
) -> dict[str, Any]:
    runner = Soak(base_url, headers, args.seed)
    seed = await runner.client.get("/v1/events", params={"limit": 1000}, headers=headers["reader"])
    runner.ids = [item["id"] for item in seed.json()["items"]]
    rss: list[tuple[float, int]] = []
    started = time.monotonic()
    clients = [asyncio.create_task(runner.client_loop()) for _ in range(args.clients)]
    clients += [asyncio.create_task(runner.abuser_loop()) for _ in range(args.abusers)]
    duration = args.minutes * 60
    while (elapsed := time.monotonic() - started) < duration:
        rss.append((elapsed, server.rss))
        if len(rss) % 12 == 0:
            done = sum(sum(c.values()) for c in runner.statuses.values())
            log(f"{elapsed:5.0f} s: {done:,} requests, RSS {rss[-1][1] / 2**20:.0f} MB")
        await asyncio.sleep(5)
    runner.stopping = True
    await asyncio.gather(*clients)
    await runner.client.aclose()
    rss.append((time.monotonic() - started, server.rss))

    warm = [value for at, value in rss if at >= args.warmup_s] or [rss[-1][1]]
    baseline_rss, peak_rss, final_rss = warm[0], max(warm), rss[-1][1]
    total = sum(sum(c.values()) for c in runner.statuses.values())
    server_errors = sum(
        n
        for counts in [*runner.statuses.values(), *runner.abuse_statuses.values()]
        for code, n in counts.items()
        if code >= 500
    )
    growth = (peak_rss - baseline_rss) / baseline_rss
    normal = [latency for latencies in runner.latencies.values() for latency in latencies]
    normal_but_exports = [
        latency
        for kind, latencies in runner.latencies.items()
        if kind != "export"
        for latency in latencies
    ]
    return {
        "seconds": time.monotonic() - started,
        "clients": args.clients,
        "requests": total,
        "requests_per_s": total / (time.monotonic() - started),
        "server_errors": server_errors,
        "transport_errors": sum(1 for e in runner.errors if e.startswith("transport")),
        "first_errors": runner.errors[:10],
        "statuses": {
            k: {str(code): n for code, n in v.items()} for k, v in runner.statuses.items()
        },
        "latency": {k: percentiles(v) for k, v in runner.latencies.items() if v},
        "abusers": args.abusers,
        "normal_latency": percentiles(normal) if normal else None,
        "normal_latency_but_exports": percentiles(normal_but_exports)
        if normal_but_exports
        else None,
        "abuse_statuses": {
            k: {str(code): n for code, n in v.items()} for k, v in runner.abuse_statuses.items()
        },
        "abuse_latency": {k: percentiles(v) for k, v in runner.abuse_latencies.items() if v},
        "rss_mb": {
            "after_warmup": baseline_rss / 2**20,
            "peak": peak_rss / 2**20,
            "final": final_rss / 2**20,
            "samples": [(round(at), round(v / 2**20, 1)) for at, v in rss],
        },
        "rss_growth": growth,
        "pass": server_errors == 0 and not runner.errors and growth <= MEMORY_GROWTH_LIMIT,
    }


def markdown(result: dict[str, Any], meta: dict[str, Any]) -> str:
    rss = result["rss_mb"]
    lines = [
        f"Soak {meta['started']} on {meta['machine']}: {result['clients']} clients for "
        f"{result['seconds'] / 60:.1f} min over {meta['events']:,} seeded events, "
        f"PostgreSQL {meta['postgres']}.",
        "",
        f"- {result['requests']:,} requests ({result['requests_per_s']:,.0f}/s), "
        f"{result['server_errors']} 5xx, {result['transport_errors']} dropped",
        f"- server RSS {rss['after_warmup']:.0f} MB after warm-up, peak {rss['peak']:.0f} MB "
        f"({result['rss_growth']:+.1%}), final {rss['final']:.0f} MB (limit +10%)",
        f"- pass: {'yes' if result['pass'] else '**no**'}",
    ]
    if result.get("abusers"):
        normal, rest = result["normal_latency"], result["normal_latency_but_exports"]
        lines.append(
            f"- {result['abusers']} abusers beside the clients; normal requests p50 "
            f"{normal['p50_ms']:.1f} ms, p99 {normal['p99_ms']:.1f} ms (all but whole exports: "
            f"p50 {rest['p50_ms']:.1f} ms, p99 {rest['p99_ms']:.1f} ms)"
        )
    lines += ["", "| action | requests | statuses | p50 ms | p99 ms |", "|---|---|---|---|---|"]
    rows = [(kind, statuses, result["latency"]) for kind, statuses in result["statuses"].items()]
    rows += [
        (f"abuse: {kind}", statuses, result.get("abuse_latency", {}))
        for kind, statuses in result.get("abuse_statuses", {}).items()
    ]
    for kind, statuses, latencies in rows:
        latency = latencies.get(kind.removeprefix("abuse: "), {"p50_ms": 0, "p99_ms": 0})
        codes = ", ".join(f"{code}: {n:,}" for code, n in sorted(statuses.items()))
        lines.append(
            f"| {kind} | {sum(statuses.values()):,} | {codes} | {latency['p50_ms']:.1f} | "
            f"{latency['p99_ms']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument(
        "--abusers", type=int, default=0, help="clients that only abuse (see ABUSE)"
    )
    parser.add_argument("--events", type=int, default=50_000, help="seeded before the soak")
    parser.add_argument("--warmup-s", type=float, default=30, help="memory baseline after this")
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--database-url", help="a server to use (default: embedded)")
    parser.add_argument("--data-dir", default=str(ROOT / "bench" / "data"))
    parser.add_argument("--results-dir", default=str(ROOT / "bench" / "results"))
    args = parser.parse_args(argv)

    started_at = dt.datetime.now(dt.UTC)
    url, embedded = prepare_database(args, "incidents_soak")
    keys = make_keys(libpq_url(url))
    headers = {role: {"Authorization": f"Bearer {secret}"} for role, (secret, _) in keys.items()}
    incidents = str(Path(sys.executable).parent / "incidents")
    env = {"INCIDENTS_DATABASE_URL": url, "INCIDENTS_LOG_FORMAT": "json", **SOAK_SETTINGS}
    server = Server([incidents, "serve", "--log-level", "warning"], env, "/readyz")
    try:
        log(f"seeding {args.events:,} events")
        seed_events(server.base_url, headers["analyst"], args.events, args.seed)
        log(f"soak: {args.clients} clients for {args.minutes:g} min")
        result = asyncio.run(soak(server.base_url, headers, args, server))
    finally:
        server.stop()
        if embedded is not None:
            embedded.stop()
    meta = {
        "started": started_at.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "events": args.events,
        "postgres": "embedded 18" if not args.database_url else "server",
    }
    out = Path(args.results_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = started_at.strftime("%Y-%m-%dT%H%M") + "-soak"
    (out / f"{stem}.json").write_text(json.dumps({"meta": meta, "result": result}, indent=2))
    table = markdown(result, meta)
    (out / f"{stem}.md").write_text(table)
    print(table)
    return 0 if result["pass"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
