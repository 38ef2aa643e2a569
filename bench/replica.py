"""python -m bench.replica: list and stats throughput with reads split across a primary and a
streaming standby, against the primary alone, in one run on the same data.

Both configurations run `incidents serve --workers N` on the same primary; the split one also
sets INCIDENTS_READ_DATABASE_URL to a standby cloned with pg_basebackup. Clients over loopback
mix list pages (filtered by region, some deep pages) and weekly stats for a fixed time.
Results go to bench/results/<date>-replica.{json,md}.
"""

import argparse
import asyncio
import datetime as dt
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg

from app.core.db import libpq_url, with_database
from app.core.embedded import EmbeddedServer, ensure_database
from app.core.schema import upgrade_to_head
from bench import data
from bench.common import ROOT, Server, log, machine, make_keys, percentiles, seed_events
from tests.support.cluster import EmbeddedCluster


async def _load(
    base_url: str, headers: dict[str, str], clients: int, seconds: float
) -> dict[str, Any]:
    rng = random.Random(7)
    latencies: dict[str, list[float]] = {"list": [], "stats": []}
    errors: list[str] = []
    read_from: dict[str, int] = {}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, limits=limits, timeout=60
    ) as client:
        deadline = time.monotonic() + seconds

        async def worker() -> None:
            while time.monotonic() < deadline:
                region = rng.choice(data.REGIONS)[0]
                if rng.random() < 0.7:
                    kind, path = "list", "/v1/events"
                    params: dict[str, Any] = {"region": region, "limit": 100}
                else:
                    kind, path = "stats", "/v1/stats/timeseries"
                    params = {"region": region, "interval": "week", "group_by": "status"}
                started = time.perf_counter()
                response = await client.get(path, params=params)
                if response.status_code != 200:
                    errors.append(f"{path}: {response.status_code} {response.text[:200]}")
                    continue
                latencies[kind].append(time.perf_counter() - started)
                target = response.headers.get("x-incidents-read-from", "?")
                read_from[target] = read_from.get(target, 0) + 1

        started = time.monotonic()
        await asyncio.gather(*[worker() for _ in range(clients)])
        elapsed = time.monotonic() - started
    total = sum(len(v) for v in latencies.values())
    return {
        "requests": total,
        "requests_per_s": total / elapsed,
        "errors": len(errors),
        "read_from": read_from,
        "first_errors": errors[:5],
        "latency": {kind: percentiles(samples) for kind, samples in latencies.items() if samples},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.replica", description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--data-dir", help="where the two clusters live (default: a temp dir)")
    parser.add_argument("--results-dir", default=str(ROOT / "bench" / "results"))
    args = parser.parse_args(argv)

    started_at = dt.datetime.now(dt.UTC)
    base = Path(args.data_dir or tempfile.mkdtemp(prefix="incidents-replica-"))
    server = EmbeddedServer(base / "primary")
    admin = server.start()
    standby: EmbeddedCluster | None = None
    results: dict[str, Any] = {}
    try:
        ensure_database(admin, "incidents")
        primary_url = with_database(admin, "incidents")
        upgrade_to_head(primary_url)
        keys = make_keys(EmbeddedCluster(base / "primary" / "pg").url("incidents"))
        headers = {
            role: {"Authorization": f"Bearer {secret}"} for role, (secret, _) in keys.items()
        }
        incidents = str(Path(sys.executable).parent / "incidents")
        command = [incidents, "serve", "--log-level", "warning", "--workers", str(args.workers)]

        log(f"seeding {args.events:,} events")
        seeder = Server(command[:4], {"INCIDENTS_DATABASE_URL": primary_url}, "/readyz")
        try:
            seed_events(seeder.base_url, headers["analyst"], args.events, args.seed)
        finally:
            seeder.stop()

        # Fresh statistics and hint bits before either configuration reads anything.
        with psycopg.connect(libpq_url(primary_url), autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
        log("cloning a streaming standby (pg_basebackup -R)")
        primary = EmbeddedCluster(base / "primary" / "pg")
        standby = primary.standby(base / "primary" / "standby", base / "primary" / "sock")
        replica_url = standby.url("incidents")

        configurations = {
            "primary_only": {"INCIDENTS_DATABASE_URL": primary_url},
            "primary_and_replica": {"INCIDENTS_DATABASE_URL": primary_url,
                                    "INCIDENTS_READ_DATABASE_URL": replica_url},
        }  # fmt: skip
        # A, B, A, B: neither configuration gets the warmer caches by going second.
        rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in configurations}
        for round_number in range(2):
            for name, env in configurations.items():
                log(f"{name} #{round_number + 1}: {args.clients} clients for {args.seconds:g} s")
                env = {**env, "INCIDENTS_ROLLUP_COMPACT_INTERVAL_S": "0"}
                api = Server(command, env, "/readyz")
                try:
                    rounds[name].append(
                        asyncio.run(
                            _load(api.base_url, headers["reader"], args.clients, args.seconds)
                        )
                    )
                finally:
                    api.stop()
        for name, runs in rounds.items():
            best = max(runs, key=lambda run: run["requests_per_s"])
            results[name] = {**best, "rounds_requests_per_s": [r["requests_per_s"] for r in runs]}
    finally:
        if standby is not None:
            standby.stop()
        server.stop()

    ratio = (
        results["primary_and_replica"]["requests_per_s"] / results["primary_only"]["requests_per_s"]
    )
    meta = {
        "started": started_at.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "events": args.events,
        "clients": args.clients,
        "workers": args.workers,
        "seconds": args.seconds,
    }
    lines = [
        f"Replica run {meta['started']} on {meta['machine']}: {args.events:,} events, "
        f"`serve --workers {args.workers}`, {args.clients} clients for {args.seconds:g} s each, "
        "embedded PostgreSQL 18 primary and standby on the same machine.",
        "",
        "| reads on | req/s | list p50 / p99 ms | stats p50 / p99 ms | served by | errors |",
        "|---|---|---|---|---|---|",
    ]
    for name, result in results.items():
        latency = result["latency"]
        lines.append(
            f"| {name.replace('_', ' ')} | {result['requests_per_s']:,.0f} | "
            f"{latency['list']['p50_ms']:.1f} / {latency['list']['p99_ms']:.1f} | "
            f"{latency['stats']['p50_ms']:.1f} / {latency['stats']['p99_ms']:.1f} | "
            f"{', '.join(f'{k} {v:,}' for k, v in sorted(result['read_from'].items()))} | "
            f"{result['errors']} |"
        )
    lines += [
        "",
        f"Split / primary alone: {ratio:.2f}× (each configuration run twice, alternating; "
        "the better round shown: "
        + "; ".join(
            f"{name.replace('_', ' ')} {', '.join(f'{v:.0f}' for v in r['rounds_requests_per_s'])} req/s"
            for name, r in results.items()
        )
        + ")",
    ]
    table = "\n".join(lines) + "\n"
    out = Path(args.results_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = started_at.strftime("%Y-%m-%dT%H%M") + "-replica"
    (out / f"{stem}.json").write_text(
        json.dumps({"meta": meta, "results": results, "ratio": ratio}, indent=2)
    )
    (out / f"{stem}.md").write_text(table)
    print(table)
    return 0 if all(r["errors"] == 0 for r in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
