"""python -m bench.webhooks: webhook deliveries per second and the latency from a write's
commit (its 201) to the receiver's receipt, p50/p99, on each server, with the service's
default delivery settings (a poll every INCIDENTS_WEBHOOK_POLL_S, 1 s).

`incidents serve` on a new database; a receiver on loopback; SUBSCRIPTIONS webhooks on one
saved search; EVENTS events POSTed by CLIENTS concurrent clients. Results go to
bench/results/<date>-webhooks.{json,md}.
"""

import argparse
import asyncio
import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from app.core.db import libpq_url
from bench import data
from bench.common import ROOT, Server, log, machine, make_keys, percentiles, prepare_database
from tests.support.receiver import Receiver


async def _paced(
    base_url: str, analyst: dict[str, str], args: argparse.Namespace
) -> dict[str, Any]:
    """Latency from commit to receipt when delivery keeps up: one webhook, events POSTed at
    --paced-per-s a second."""
    receiver = await Receiver().start()
    async with httpx.AsyncClient(base_url=base_url, headers=analyst, timeout=60) as client:
        search = (await client.post("/v1/searches", json={"name": "paced", "filters": {}})).json()
        made = await client.post(
            "/v1/subscriptions", json={"search_id": search["id"], "url": receiver.url}
        )
        made.raise_for_status()
        committed: dict[str, float] = {}
        for body in data.events(args.paced, seed=12):
            body["external_id"] = None
            response = await client.post("/v1/events", json=body)
            response.raise_for_status()
            committed[response.json()["id"]] = time.monotonic()
            await asyncio.sleep(1 / args.paced_per_s)
        await receiver.wait_for(lambda r: len(r.accepted) >= args.paced, guard_s=600)
    await receiver.stop()
    latencies = [
        r.at - committed[json.loads(r.body)["data"]["event_id"]] for r in receiver.accepted
    ]
    return {"events": args.paced, "per_s": args.paced_per_s, "latency": percentiles(latencies)}


async def _measure(
    base_url: str, analyst: dict[str, str], args: argparse.Namespace
) -> dict[str, Any]:
    receiver = await Receiver().start()
    async with httpx.AsyncClient(base_url=base_url, headers=analyst, timeout=60) as client:
        search = (await client.post("/v1/searches", json={"name": "all", "filters": {}})).json()
        for _ in range(args.subscriptions):
            made = await client.post(
                "/v1/subscriptions", json={"search_id": search["id"], "url": receiver.url}
            )
            made.raise_for_status()
        bodies = list(data.events(args.events, seed=11))
        committed: dict[str, float] = {}
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        for body in bodies:
            body["external_id"] = None
            queue.put_nowait(body)

        async def post() -> None:
            while not queue.empty():
                body = queue.get_nowait()
                response = await client.post("/v1/events", json=body)
                response.raise_for_status()
                committed[response.json()["id"]] = time.monotonic()

        started = time.monotonic()
        await asyncio.gather(*(post() for _ in range(args.clients)))
        expected = args.events * args.subscriptions
        await receiver.wait_for(lambda r: len(r.accepted) >= expected, guard_s=1800)
        finished = max(r.at for r in receiver.accepted)
    await receiver.stop()
    latencies = [
        r.at - committed[json.loads(r.body)["data"]["event_id"]] for r in receiver.accepted
    ]
    return {
        "deliveries": expected,
        "deliveries_per_s": expected / (finished - started),
        "latency": percentiles(latencies),
        "paced": await _paced(base_url, analyst, args),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.webhooks", description=__doc__)
    parser.add_argument("--server", action="append", default=[],
                        help="embedded, or a PostgreSQL URL (an administrator's); repeatable")  # fmt: skip
    parser.add_argument("--database-url", help="a server to use: the same as --server URL")
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--subscriptions", type=int, default=4)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--paced", type=int, default=300, help="events for the latency run")
    parser.add_argument("--paced-per-s", type=float, default=10)
    parser.add_argument("--data-dir", default=str(ROOT / "bench" / "data"))
    parser.add_argument("--results-dir", default=str(ROOT / "bench" / "results"))
    args = parser.parse_args(argv)
    report: dict[str, Any] = {
        "meta": {"started": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
                 "machine": machine(), "events": args.events,
                 "subscriptions": args.subscriptions, "clients": args.clients},
        "servers": {},
    }  # fmt: skip
    servers = args.server or [args.database_url or "embedded"]
    for server in servers:
        args.database_url = None if server == "embedded" else server
        url, embedded = prepare_database(args, "incidents_webhooks")
        try:
            keys = make_keys(libpq_url(url))
            env = {"INCIDENTS_DATABASE_URL": url, "INCIDENTS_WEBHOOK_ALLOW_PRIVATE": "true"}
            incidents = str(Path(sys.executable).parent / "incidents")
            api = Server([incidents, "serve", "--log-level", "warning"], env, "/readyz")
            try:
                analyst = {"Authorization": f"Bearer {keys['analyst'][0]}"}
                log(f"{server}: {args.events} events x {args.subscriptions} webhooks")
                report["servers"][server.split("@")[-1]] = asyncio.run(
                    _measure(api.base_url, analyst, args)
                )
            finally:
                api.stop()
        finally:
            if embedded is not None:
                embedded.stop()
    out = Path(args.results_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H%M") + "-webhooks"
    (out / f"{stem}.json").write_text(json.dumps(report, indent=2))
    lines = [
        f"{args.events} events x {args.subscriptions} webhooks, {args.clients} clients "
        f"(a burst); then {args.paced} events at {args.paced_per_s:g}/s to one webhook",
        "",
        "| server | burst: deliveries/s | burst: commit to receipt p50 / p99 "
        "| paced: commit to receipt p50 / p99 |",
        "|---|---|---|---|",
    ]
    for name, result in report["servers"].items():
        burst, paced = result["latency"], result["paced"]["latency"]
        lines.append(
            f"| {name} | {result['deliveries_per_s']:,.0f} | {burst['p50_ms']:,.0f} / "
            f"{burst['p99_ms']:,.0f} ms | {paced['p50_ms']:,.0f} / {paced['p99_ms']:,.0f} ms |"
        )
    (out / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
