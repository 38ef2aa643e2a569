"""python -m bench.soak --minutes 5 --clients 50: a bounded soak of `incidents serve`.

Clients over loopback mix list pages, single reads, stats, history, writes (creates, patches
with If-Match, added sources) and whole exports for the given time. It passes with no 5xx, no
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

from app.db import libpq_url
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


async def soak(
    base_url: str, headers: dict[str, dict[str, str]], args: argparse.Namespace, server: Server
) -> dict[str, Any]:
    runner = Soak(base_url, headers, args.seed)
    seed = await runner.client.get("/v1/events", params={"limit": 1000}, headers=headers["reader"])
    runner.ids = [item["id"] for item in seed.json()["items"]]
    rss: list[tuple[float, int]] = []
    started = time.monotonic()
    clients = [asyncio.create_task(runner.client_loop()) for _ in range(args.clients)]
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
    server_errors = sum(n for c in runner.statuses.values() for code, n in c.items() if code >= 500)
    growth = (peak_rss - baseline_rss) / baseline_rss
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
        "",
        "| action | requests | statuses | p50 ms | p99 ms |",
        "|---|---|---|---|---|",
    ]
    for kind, statuses in result["statuses"].items():
        latency = result["latency"].get(kind, {"p50_ms": 0, "p99_ms": 0})
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
    env = {"INCIDENTS_DATABASE_URL": url, "INCIDENTS_LOG_FORMAT": "json"}
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
