"""Webhooks against real HTTP receivers on loopback: signed per Standard Webhooks (verified
with the `standardwebhooks` package), in change-feed order, retried after errors and
downtime, paused after too many failures and resumed, replayed, across a restart of the
delivery worker mid-backlog, and a slow receiver delaying no other."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import psycopg
import pytest
from standardwebhooks.webhooks import Webhook

from app.core.db import libpq_url
from app.subscriptions.delivery import run_delivery
from tests.conftest import assert_problem, make_settings
from tests.factories import event_body
from tests.live import KeyedClient, bearer, live_app
from tests.support.receiver import Receiver

# Fast retries and polls: the tests wait for what matters, these only make it come soon.
FAST = {
    "webhook_allow_private": True, "webhook_poll_s": 0.05, "webhook_retry_base_s": 0.05,
    "webhook_retry_max_s": 0.2, "webhook_max_failures": 4, "webhook_timeout_s": 30,
}  # fmt: skip
BELGOROD = {"region": ["RU-BEL"]}


@contextlib.asynccontextmanager
async def worker(database: Any, url: str, **settings: Any) -> AsyncIterator[None]:
    """The delivery worker, as `incidents serve` runs it, until the block ends."""
    task = asyncio.create_task(run_delivery(database, make_settings(url, **(FAST | settings))))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


async def _subscribe(
    client: Any, receiver: Receiver, filters: dict[str, Any] = BELGOROD
) -> dict[str, Any]:
    body = {"name": "Belgorod", "filters": filters}
    search = await _ok(await client.post("/v1/searches", json=body), 201)
    body = {"search_id": search["id"], "url": receiver.url}
    return await _ok(await client.post("/v1/subscriptions", json=body), 201)  # type: ignore[no-any-return]


def _verified(receiver: Receiver, secret: str) -> list[dict[str, Any]]:
    """Every accepted message, each signature checked (raises if one does not verify)."""
    return [Webhook(secret).verify(r.body, r.headers) for r in receiver.accepted]


def _in_order(messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(m["type"], m["data"]["event_id"]) for m in messages]


async def _create(analyst: Any, **changes: Any) -> dict[str, Any]:
    return await _ok(await analyst.post("/v1/events", json=event_body(**changes)), 201)  # type: ignore[no-any-return]


async def test_changes_arrive_signed_in_feed_order(fresh_database_url: str) -> None:
    receiver = await Receiver().start()
    async with (
        live_app(fresh_database_url, **FAST) as (database, keys, client),
        worker(database, fresh_database_url),
    ):
        analyst = KeyedClient(client, bearer(keys, "analyst"))
        verifier = KeyedClient(client, bearer(keys, "verifier"))
        subscription = await _subscribe(analyst, receiver)
        assert subscription["secret"].startswith("whsec_")

        async def delivered(count: int) -> None:
            # Each change is judged when the worker reads it: wait for it before the next.
            await receiver.wait_for(lambda r: len(r.accepted) >= count)

        inside = await _create(analyst, summary="in Belgorod")
        await _create(analyst, country="UA", region_code="UA-59", summary="in Sumy: not sent")
        await delivered(1)
        judged = {"status": "verified", "rationale": "Geolocated."}
        await _ok(await verifier.post(f"/v1/events/{inside['id']}/status", json=judged))
        await delivered(2)
        moved = await client.patch(
            f"/v1/events/{inside['id']}", json={"country": "UA", "region_code": "UA-59"},
            headers={**analyst.headers, "If-Match": '"2"'},
        )  # fmt: skip
        assert moved.status_code == 200, moved.text
        await delivered(3)
        again = await _create(analyst, summary="a second one")
        await delivered(4)
        await client.delete(f"/v1/events/{again['id']}", headers=analyst.headers)
        await delivered(5)
        messages = _verified(receiver, subscription["secret"])
        assert _in_order(messages) == [
            ("event.entered", inside["id"]), ("event.changed", inside["id"]),
            ("event.left", inside["id"]), ("event.entered", again["id"]),
            ("event.left", again["id"]),
        ]  # fmt: skip
        first = messages[0]["data"]
        assert first["event"]["summary"] == "in Belgorod"
        assert first["subscription_id"] == subscription["id"]
        assert messages[1]["data"]["event"]["status"] == "verified"
        assert messages[4]["data"]["op"] == "delete"
        assert messages[4]["data"]["event"] is None
        # Each carries its feed cursor: the change feed's own, in its order.
        feed = (await client.get("/v1/changes", headers=analyst.headers)).json()["items"]
        ours = [item["cursor"] for item in feed if item["event_id"] in {inside["id"], again["id"]}]
        assert [m["data"]["cursor"] for m in messages] == ours
        # A forged or stale signature does not verify.
        forged = dict(receiver.accepted[0].headers, **{"webhook-signature": "v1,AAAA"})
        with pytest.raises(Exception, match="signature"):
            Webhook(subscription["secret"]).verify(receiver.accepted[0].body, forged)
        deliveries = await _ok(
            await analyst.get(f"/v1/subscriptions/{subscription['id']}/deliveries")
        )  # fmt: skip
        assert [d["state"] for d in deliveries["items"]] == ["delivered"] * 5
        assert deliveries["items"][0]["last_attempts"][0]["status_code"] == 200
    await receiver.stop()


async def test_retries_after_errors_and_downtime_lose_nothing(fresh_database_url: str) -> None:
    # Three 503s, then 200s: the first message is retried with backoff, then all follow.
    receiver = await Receiver(answer=lambda n: (503, 0.0) if n <= 3 else (200, 0.0)).start()
    async with (
        live_app(fresh_database_url, **FAST) as (database, keys, client),
        worker(database, fresh_database_url),
    ):
        analyst = KeyedClient(client, bearer(keys, "analyst"))
        subscription = await _subscribe(analyst, receiver)
        made = [await _create(analyst, summary=f"event {n}") for n in range(3)]
        await receiver.wait_for(lambda r: len(r.accepted) >= 3)
        assert [m["data"]["event_id"] for m in _verified(receiver, subscription["secret"])] == [
            event["id"] for event in made
        ]
        deliveries = await _ok(
            await analyst.get(f"/v1/subscriptions/{subscription['id']}/deliveries")
        )  # fmt: skip
        oldest = deliveries["items"][-1]
        assert oldest["attempts"] == 4
        assert [a["status_code"] for a in oldest["last_attempts"]] == [200, 503, 503, 503]
        assert all(a["latency_ms"] is not None for a in oldest["last_attempts"])
        # The answers' bodies are kept only as a short prefix.
        assert len(oldest["last_attempts"][1]["response_prefix"]) <= 256

        # The receiver goes down; events keep coming; it comes back and gets them all, in
        # order (with max failures 4, downtime longer than that pauses it: resumed below).
        # The four come in one import, so the worker queues them in one step before its
        # failures pause it (four creates one by one may be paused after the first: a
        # paused subscription queues nothing more until it is resumed).
        await receiver.stop()
        imported = await client.post(
            "/v1/imports",
            content=b"".join(
                orjson.dumps(event_body(summary=f"while down {n}")) + b"\n" for n in range(4)
            ),
            headers={**analyst.headers, "Content-Type": "application/x-ndjson"},
        )
        assert imported.status_code == 200, imported.text
        assert imported.json()["created"] == 4
        await _wait_state(analyst, subscription["id"], "paused")
        shown = await _ok(await analyst.get(f"/v1/subscriptions/{subscription['id']}"))
        assert "in a row failed" in shown["paused_reason"]
        assert shown["pending"] == 4
        feed = (await client.get("/v1/changes", headers=analyst.headers)).json()["items"]
        later = [
            {"id": item["event_id"]}
            for item in feed
            if item["event"]["summary"].startswith("while down")
        ]
        assert len(later) == 4
        await receiver.start()
        resumed = await analyst.patch(
            f"/v1/subscriptions/{subscription['id']}", json={"active": True}
        )
        assert resumed.status_code == 200, resumed.text
        await receiver.wait_for(lambda r: len(r.accepted) >= 7)
        ids = [m["data"]["event_id"] for m in _verified(receiver, subscription["secret"])]
        assert ids == [event["id"] for event in made + later]
    await receiver.stop()


async def _wait_delivered(client: Any, subscription_id: str, count: int) -> None:
    """Until the service has recorded `count` deliveries as delivered (the receiver sees a
    message before the service reads its answer)."""
    async with asyncio.timeout(120):
        while True:
            page = await _ok(await client.get(f"/v1/subscriptions/{subscription_id}/deliveries"))
            if sum(d["state"] == "delivered" for d in page["items"]) >= count:
                return
            await asyncio.sleep(0.05)


async def _wait_state(client: Any, subscription_id: str, state: str) -> None:
    async with asyncio.timeout(120):
        while True:
            shown = await _ok(await client.get(f"/v1/subscriptions/{subscription_id}"))
            if shown["state"] == state:
                return
            await asyncio.sleep(0.05)


async def test_a_restart_mid_backlog_skips_nothing(fresh_database_url: str) -> None:
    # Slow answers, so that the worker is stopped with most of the backlog still queued.
    receiver = await Receiver(answer=lambda n: (200, 0.2)).start()
    async with live_app(fresh_database_url, **FAST) as (database, keys, client):
        analyst = KeyedClient(client, bearer(keys, "analyst"))
        subscription = await _subscribe(analyst, receiver)
        made = [await _create(analyst, summary=f"backlog {n}") for n in range(12)]
        async with worker(database, fresh_database_url):
            await receiver.wait_for(lambda r: len(r.accepted) >= 3)
        stopped_at = len(receiver.accepted)
        assert stopped_at < len(made)
        async with worker(database, fresh_database_url):
            await receiver.wait_for(lambda r: len({m.message["data"]["cursor"]
                                                    for m in r.accepted}) >= len(made))  # fmt: skip
        # At least once, in order: a message cut off by the stop may come again, nothing is
        # skipped and nothing comes out of order.
        ids = [m["data"]["event_id"] for m in _verified(receiver, subscription["secret"])]
        deduplicated = list(dict.fromkeys(ids))
        assert deduplicated == [event["id"] for event in made]
        assert len(ids) - len(deduplicated) <= 1
    await receiver.stop()


async def test_a_slow_receiver_delays_no_other(fresh_database_url: str) -> None:
    released = asyncio.Event()
    slow = await Receiver(hold=released).start()
    fast = await Receiver().start()
    async with (
        live_app(fresh_database_url, **FAST) as (database, keys, client),
        worker(database, fresh_database_url),
    ):
        analyst = KeyedClient(client, bearer(keys, "analyst"))
        await _subscribe(analyst, slow)
        await _subscribe(analyst, fast)
        for n in range(3):
            await _create(analyst, summary=f"event {n}")
        # The fast receiver gets all three while the slow one still holds its first.
        await fast.wait_for(lambda r: len(r.accepted) >= 3)
        assert len(slow.accepted) == 0
        assert len(slow.received) <= 1
        released.set()
        await slow.wait_for(lambda r: len(r.accepted) >= 3)
    await slow.stop()
    await fast.stop()


async def test_pause_replay_and_a_new_secret(fresh_database_url: str) -> None:
    receiver = await Receiver().start()
    async with (
        live_app(fresh_database_url, **FAST) as (database, keys, client),
        worker(database, fresh_database_url),
    ):
        analyst = KeyedClient(client, bearer(keys, "analyst"))
        subscription = await _subscribe(analyst, receiver)
        made = [await _create(analyst, summary=f"event {n}") for n in range(3)]
        await _wait_delivered(analyst, subscription["id"], 3)
        first_cursor = _verified(receiver, subscription["secret"])[0]["data"]["cursor"]
        # Replay what came after the first: the second and third again, in order.
        replayed = await _ok(
            await analyst.post(
                f"/v1/subscriptions/{subscription['id']}/replay", params={"since": first_cursor}
            )
        )
        assert replayed == {"queued": 2}
        await receiver.wait_for(lambda r: len(r.accepted) >= 5)
        ids = [m["data"]["event_id"] for m in _verified(receiver, subscription["secret"])]
        assert ids[3:] == [made[1]["id"], made[2]["id"]]
        # Paused by hand: nothing is sent until it is resumed, then all of it.
        paused = await client.patch(
            f"/v1/subscriptions/{subscription['id']}", json={"active": False},
            headers=analyst.headers,
        )  # fmt: skip
        assert paused.json()["state"] == "paused"
        rotated = await _ok(await analyst.post(f"/v1/subscriptions/{subscription['id']}/secret"))
        assert rotated["secret"] != subscription["secret"]
        held = await _create(analyst, summary="while paused")
        await asyncio.sleep(0.5)  # the worker polls every 0.05 s: it would have sent it
        assert len(receiver.received) == 5
        await client.patch(
            f"/v1/subscriptions/{subscription['id']}", json={"active": True},
            headers=analyst.headers,
        )  # fmt: skip
        await receiver.wait_for(lambda r: len(r.accepted) >= 6)
        last = receiver.accepted[-1]
        # Signed with the new secret, not the old.
        assert (
            Webhook(rotated["secret"]).verify(last.body, last.headers)["data"]["event_id"]
            == (held["id"])
        )
        with pytest.raises(Exception, match="signature"):
            Webhook(subscription["secret"]).verify(last.body, last.headers)
        bad = await analyst.post(
            f"/v1/subscriptions/{subscription['id']}/replay", params={"since": "nonsense"}
        )
        assert_problem(bad, 422)
    await receiver.stop()


async def test_revoking_the_owners_key_pauses_its_webhooks(fresh_database_url: str) -> None:
    receiver = await Receiver().start()
    async with (
        live_app(fresh_database_url, **FAST) as (database, keys, client),
        worker(database, fresh_database_url),
    ):
        admin = KeyedClient(client, bearer(keys, "admin"))
        made = await _ok(await admin.post("/v1/keys", json={"name": "duty", "role": "reader"}), 201)
        duty = KeyedClient(client, {"Authorization": f"Bearer {made['secret']}"})
        subscription = await _subscribe(duty, receiver)
        analyst = KeyedClient(client, bearer(keys, "analyst"))
        await _create(analyst)
        await receiver.wait_for(lambda r: len(r.accepted) >= 1)
        revoked = await client.delete(f"/v1/keys/{made['id']}", headers=admin.headers)
        assert revoked.status_code == 200, revoked.text
        await _create(analyst)
        await _wait_state(admin, subscription["id"], "paused")
        shown = await _ok(await admin.get(f"/v1/subscriptions/{subscription['id']}"))
        assert "revoked" in shown["paused_reason"]
        assert len(receiver.accepted) == 1
    await receiver.stop()


async def test_incidents_worker_delivers_apart_from_the_api(
    fresh_database_url: str, tmp_path: Any
) -> None:
    import signal
    from asyncio.subprocess import PIPE, create_subprocess_exec

    from tests.live import INCIDENTS, serve_env

    receiver = await Receiver().start()
    env = serve_env(tmp_path, database_url=fresh_database_url, webhook_allow_private="true",
                    webhook_poll_s="0.05")  # fmt: skip
    # Without a database to share, it says so and stops.
    alone = await create_subprocess_exec(INCIDENTS, "worker", env=serve_env(tmp_path),
                                         stdout=PIPE, stderr=PIPE)  # fmt: skip
    _, complaint = await alone.communicate()
    assert alone.returncode == 2
    assert b"INCIDENTS_DATABASE_URL" in complaint
    process = await create_subprocess_exec(INCIDENTS, "worker", env=env, stdout=PIPE,
                                           stderr=PIPE)  # fmt: skip
    try:
        async with live_app(fresh_database_url, webhook_allow_private=True) as (_, keys, client):
            analyst = KeyedClient(client, bearer(keys, "analyst"))
            subscription = await _subscribe(analyst, receiver)
            made = await _create(analyst)
            await receiver.wait_for(lambda r: len(r.accepted) >= 1)
            (message,) = _verified(receiver, subscription["secret"])
            assert message["data"]["event_id"] == made["id"]
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = await process.communicate()
    assert process.returncode == 0, err
    assert b"delivering webhooks" in out
    await receiver.stop()


async def test_a_commit_wakes_the_worker_between_polls(fresh_database_url: str) -> None:
    # A poll a minute: only the notification sent at commit can bring the message sooner
    # (the wait below guards against hanging, it asserts no speed).
    receiver = await Receiver().start()
    async with (
        live_app(fresh_database_url, **FAST) as (database, keys, client),
        worker(database, fresh_database_url, webhook_poll_s=60),
    ):
        analyst = KeyedClient(client, bearer(keys, "analyst"))
        subscription = await _subscribe(analyst, receiver)
        # The worker's first look happened before the webhook existed; the next poll is a
        # minute away.
        made = [await _create(analyst, summary=f"woken {n}") for n in range(2)]
        await receiver.wait_for(lambda r: len(r.accepted) >= 2, guard_s=50)
        ids = [m["data"]["event_id"] for m in _verified(receiver, subscription["secret"])]
        assert ids == [event["id"] for event in made]
    await receiver.stop()


async def test_a_change_held_back_by_an_older_transaction_goes_out_when_it_ends(
    fresh_database_url: str,
) -> None:
    # The feed holds back what committed after a transaction still open (it could commit
    # rows of a lower id later): the notification finds nothing to send, and none comes when
    # the older transaction ends. The worker looks again, less and less often, while the feed
    # holds changes back; the poll is a minute away.
    receiver = await Receiver().start()
    async with (
        live_app(fresh_database_url, **FAST) as (database, keys, client),
        worker(database, fresh_database_url, webhook_poll_s=60),
        await psycopg.AsyncConnection.connect(libpq_url(fresh_database_url)) as older,
    ):
        analyst = KeyedClient(client, bearer(keys, "analyst"))
        subscription = await _subscribe(analyst, receiver)
        await older.execute("SELECT pg_current_xact_id()")  # open, with a transaction id
        made = await _create(analyst, summary="held back")
        # Long enough for the worker to have looked (and found the change held back) a few
        # times: this orders the events, the wait below asserts no speed.
        await asyncio.sleep(2)
        assert receiver.accepted == []
        await older.commit()
        await receiver.wait_for(lambda r: len(r.accepted) >= 1, guard_s=50)
        (message,) = _verified(receiver, subscription["secret"])
        assert message["data"]["event_id"] == made["id"]
    await receiver.stop()
