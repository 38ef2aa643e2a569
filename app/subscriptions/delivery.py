"""Webhook delivery: PostgreSQL is the queue. One process at a time holds the work (a session
advisory lock, as the compactor's); in it, each active subscription is leased (FOR UPDATE
SKIP LOCKED) and worked by a task of its own, so a slow receiver delays no other:

1. queue: the change feed after the subscription's position, judged against its search
   (an event entered, changed in, or left it; others are skipped), written as deliveries in
   feed order with the position moved, in one transaction;
2. send: the oldest pending delivery is POSTed, signed per Standard Webhooks, until one
   fails; a failure waits (exponential backoff with jitter) and after
   INCIDENTS_WEBHOOK_MAX_FAILURES in a row pauses the subscription, saying why. Nothing is
   skipped: a delivery stays at the head of its queue until a 2xx.
"""

import asyncio
import contextlib
import datetime as dt
import logging
import random
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx
import orjson
import psycopg
from sqlalchemy import exists, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks.webhooks import Webhook

from app.auth.models import ApiKey
from app.changes import WATERMARK, changes_after
from app.core.config import Settings
from app.core.db import Database, libpq_url
from app.core.pagination import encode_cursor
from app.events import (
    Event,
    EventChange,
    EventFilters,
    check_filters,
    events_matching,
    filter_conditions,
    live_documents,
)
from app.subscriptions.models import Delivery, DeliveryAttempt, SavedSearch, Subscription
from app.subscriptions.repository import add_members, members_among, queue, remove_members
from app.subscriptions.service import non_public_address

log = logging.getLogger("app.subscriptions")

# Any constant: advisory lock keys are shared by every process on the database.
DELIVERY_LOCK = 0x57E6_400C
# A turn of work on one subscription: sends stop after TURN_S (a send in flight may add its
# timeout); its lease is longer than that, and runs out should the process die.
TURN_S = 30
LEASE_MARGIN_S = 30
# Changes read from the feed per queueing step; deliveries taken from the queue at a time;
# deliveries sent per turn at most.
FEED_BATCH = 500
SEND_BATCH = 100
SENDS_PER_TURN = 1000
DELIVERED = text("""
WITH attempt AS (
    INSERT INTO delivery_attempt (delivery_seq, status_code, latency_ms, response_prefix)
    VALUES (:seq, :status, :latency, :prefix)
), done AS (
    UPDATE delivery SET state = 'delivered', attempts = attempts + 1, delivered_at = now()
    WHERE seq = :seq
)
UPDATE subscription SET failures = 0 WHERE id = :subscription AND failures <> 0
""")
# What is kept of a receiver's answer.
RESPONSE_PREFIX = 256
USER_AGENT = "incident-tracker-webhooks/1"


async def events_in(session: AsyncSession, filters: EventFilters, limit: int) -> list[uuid.UUID]:
    """The ids of (at most `limit`) events a search matches now."""
    query = select(Event.id).where(*filter_conditions(filters)).limit(limit)
    return list((await session.execute(query)).scalars())


def backoff_s(failures: int, settings: Settings) -> float:
    """The wait after `failures` failures in a row: doubling from the base to the cap, then
    ±20% of jitter so that receivers coming back are not hit by every sender at once."""
    wait = min(settings.webhook_retry_max_s, settings.webhook_retry_base_s * 2 ** (failures - 1))
    return float(wait * random.uniform(0.8, 1.2))  # noqa: S311 (jitter, not security)


def signed_headers(secret: str, message_id: str, body: str, now: dt.datetime) -> dict[str, str]:
    signature = Webhook(secret).sign(msg_id=message_id, timestamp=now, data=body)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


@dataclass
class Outcome:
    status_code: int | None
    latency_ms: float | None
    error: str | None
    response_prefix: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


async def _address_allowed(url: str, settings: Settings) -> str | None:
    """Why the URL's host may not be called now (it resolves to a private address), or None:
    checked before each POST, as a name may point elsewhere since it was accepted."""
    if settings.webhook_allow_private:
        return None
    parts = urlsplit(url)
    try:
        address = await non_public_address(
            parts.hostname or "", parts.port, settings.webhook_timeout_s
        )
    except (OSError, TimeoutError) as exc:
        return f"the host does not resolve: {exc or 'timed out'}"
    return None if address is None else f"the host resolves to a non-public address ({address})"


@dataclass
class Target:
    """What a POST needs of its subscription, read in the transaction that chose it."""

    url: str
    secret: str


async def post(
    client: httpx.AsyncClient, target: Target, delivery: Delivery, settings: Settings
) -> Outcome:
    """One signed POST of a delivery; the answer's status, time and first bytes."""
    if (refused := await _address_allowed(target.url, settings)) is not None:
        return Outcome(None, None, refused, None)
    headers = signed_headers(target.secret, str(delivery.id), delivery.body,
                             dt.datetime.now(dt.UTC))  # fmt: skip
    started = time.perf_counter()
    try:
        # The whole exchange within the timeout, however slowly the answer trickles.
        async with (
            asyncio.timeout(settings.webhook_timeout_s),
            client.stream(
                "POST", target.url, content=delivery.body.encode(), headers=headers,
                timeout=settings.webhook_timeout_s,
            ) as response,
        ):  # fmt: skip
            prefix = b""
            async for chunk in response.aiter_raw():
                prefix += chunk
                if len(prefix) >= RESPONSE_PREFIX:
                    break
            latency = (time.perf_counter() - started) * 1000
            text_prefix = prefix[:RESPONSE_PREFIX].decode("utf-8", "replace")
            return Outcome(response.status_code, latency, None, text_prefix)
    except TimeoutError:
        latency = (time.perf_counter() - started) * 1000
        return Outcome(None, latency, f"no answer within {settings.webhook_timeout_s:g} s", None)
    except httpx.HTTPError as exc:
        latency = (time.perf_counter() - started) * 1000
        return Outcome(None, latency, f"{type(exc).__name__}: {exc}"[:500], None)


def _body(kind: str, change: Any, subscription: Subscription, document: str | None) -> str:
    data = {
        "cursor": encode_cursor(change.xid, change.seq),
        "subscription_id": str(subscription.id),
        "search_id": str(subscription.search_id),
        "event_id": str(change.event_id),
        "op": "delete" if change.op == "delete" else "upsert",
        "committed_at": change.changed_at.isoformat(),
        "event": orjson.Fragment(document) if document is not None else None,
    }
    message = {"type": f"event.{kind}", "timestamp": change.changed_at.isoformat(), "data": data}
    return orjson.dumps(message).decode()


async def _filters_of(session: AsyncSession, subscription: Subscription) -> EventFilters | None:
    """The search's filters, checked as its owner would be; None when the owner's key can no
    longer read (revoked or expired): the subscription is then paused."""
    search = await session.get(SavedSearch, subscription.search_id)
    owner = await session.get(ApiKey, subscription.owner)
    if search is None or owner is None or not owner.usable:
        return None
    filters = EventFilters.model_validate(search.filters)
    await check_filters(session, filters, owner)
    return filters


async def queue_changes(session: AsyncSession, subscription: Subscription) -> int:
    """Judge the feed's next changes against the search and queue what entered, changed in
    or left it; returns how many changes were read (0: the feed is caught up)."""
    changes = await changes_after(session, subscription.feed_xid, subscription.feed_seq, FEED_BATCH)
    if not changes:
        return 0
    filters = await _filters_of(session, subscription)
    if filters is None:
        subscription.state = "paused"
        subscription.paused_reason = "the key that owns it can no longer read (revoked?)"
        return 0
    ids = list({change.event_id for change in changes})
    now_in = await events_matching(session, filters, ids)
    were_in = await members_among(session, subscription.id, ids)
    documents = await live_documents(session, list(now_in | were_in))
    # Each event is judged as it is now, so its first change in the batch enters or leaves
    # and its later ones (if it is in) change.
    members = set(were_in)
    rows = []
    for change in changes:
        before, after = change.event_id in members, change.event_id in now_in
        if not before and not after:
            continue
        kind = "changed" if before and after else "entered" if after else "left"
        (members.add if after else members.discard)(change.event_id)
        rows.append(
            {
                "subscription_id": subscription.id,
                "cursor": encode_cursor(change.xid, change.seq),
                "feed_xid": change.xid,
                "feed_seq": change.seq,
                "event_id": change.event_id,
                "kind": kind,
                "body": _body(kind, change, subscription, documents.get(change.event_id)),
            }
        )
    await queue(session, rows)
    await add_members(session, subscription.id, sorted(now_in - were_in))
    await remove_members(session, subscription.id, sorted(were_in - now_in))
    subscription.feed_xid, subscription.feed_seq = changes[-1].xid, changes[-1].seq
    return len(changes)


@dataclass
class Worker:
    database: Database
    settings: Settings
    client: httpx.AsyncClient

    def session(self) -> AsyncSession:
        """A session on delivery's own pool."""
        return AsyncSession(self.database.delivery_engine, expire_on_commit=False)

    async def lease(self, most: int) -> list[uuid.UUID]:
        """Take at most `most` of the subscriptions due (active, not waiting out a backoff,
        not leased)."""
        async with self.database.delivery_engine.begin() as conn:
            result = await conn.execute(
                text("""
                UPDATE subscription SET leased_until = now() + make_interval(secs => :lease)
                WHERE id IN (
                    SELECT id FROM subscription
                    WHERE state = 'active' AND next_attempt_at <= now()
                      AND (leased_until IS NULL OR leased_until < now())
                    ORDER BY next_attempt_at
                    LIMIT :n
                    FOR UPDATE SKIP LOCKED)
                RETURNING id
                """),
                {
                    "lease": TURN_S + self.settings.webhook_timeout_s + LEASE_MARGIN_S,
                    "n": most,
                },
            )
            return [row[0] for row in result]

    async def release(self, subscription_id: uuid.UUID) -> None:
        async with self.database.delivery_engine.begin() as conn:
            await conn.execute(
                text("UPDATE subscription SET leased_until = NULL WHERE id = :id"),
                {"id": subscription_id},
            )

    async def turn(self, subscription_id: uuid.UUID) -> int:
        """Queue what the feed brings and send in order, for one subscription, until its queue
        is empty, a send fails or the turn's time is up. Returns how many were sent."""
        deadline = time.monotonic() + TURN_S
        try:
            return await self._turn(subscription_id, deadline)
        except Exception:
            # Whatever broke (a search whose region no longer exists…) is tried again later,
            # not at every poll.
            log.warning("webhook turn failed", exc_info=True,
                        extra={"subscription": str(subscription_id)})  # fmt: skip
            await self.defer(subscription_id, TURN_S)
            return 0
        finally:
            with anyio.CancelScope(shield=True):
                await self.release(subscription_id)

    async def defer(self, subscription_id: uuid.UUID, seconds: float) -> None:
        async with self.database.delivery_engine.begin() as conn:
            await conn.execute(
                text(
                    "UPDATE subscription SET next_attempt_at = now() + make_interval(secs => :s)"
                    " WHERE id = :id"
                ),
                {"s": seconds, "id": subscription_id},
            )

    async def _turn(self, subscription_id: uuid.UUID, deadline: float) -> int:
        sent = 0
        while time.monotonic() < deadline and sent < SENDS_PER_TURN:
            async with self.session() as session, session.begin():
                subscription = await session.get(Subscription, subscription_id)
                if subscription is None or subscription.state != "active":
                    return sent
                # The feed is read when the queue runs short, not before every send.
                read = await queue_changes(session, subscription)
                heads = list(
                    (
                        await session.execute(
                            select(Delivery)
                            .where(Delivery.subscription_id == subscription_id,
                                   Delivery.state == "pending")
                            .order_by(Delivery.seq)
                            .limit(SEND_BATCH)
                        )
                    ).scalars()
                )  # fmt: skip
                target = Target(subscription.url, subscription.secret)
            if not heads:
                if read == 0:
                    return sent
                continue
            for head in heads:
                outcome = await post(self.client, target, head, self.settings)
                if not await self.record(subscription_id, head.seq, outcome):
                    return sent
                sent += 1
                if time.monotonic() >= deadline:
                    return sent
        return sent

    async def record(self, subscription_id: uuid.UUID, seq: int, outcome: Outcome) -> bool:
        """Record an attempt; on success the delivery is done, on failure the subscription
        waits (or is paused). True when the queue may go on."""
        if outcome.ok:
            # The common case in one statement: the attempt, the delivery done, the count of
            # failures in a row back to none.
            async with self.database.delivery_engine.begin() as conn:
                await conn.execute(
                    DELIVERED,
                    {
                        "seq": seq, "subscription": subscription_id,
                        "status": outcome.status_code, "latency": outcome.latency_ms,
                        "prefix": outcome.response_prefix,
                    },
                )  # fmt: skip
            return True
        async with self.session() as session, session.begin():
            session.add(
                DeliveryAttempt(
                    delivery_seq=seq, status_code=outcome.status_code,
                    latency_ms=outcome.latency_ms, error=outcome.error,
                    response_prefix=outcome.response_prefix,
                )
            )  # fmt: skip
            delivery = await session.get(Delivery, seq)
            subscription = await session.get(Subscription, subscription_id, with_for_update=True)
            if delivery is None or subscription is None:
                return False
            delivery.attempts += 1
            subscription.failures += 1
            why = outcome.error or f"HTTP {outcome.status_code}"
            if subscription.failures >= self.settings.webhook_max_failures:
                subscription.state = "paused"
                subscription.paused_reason = (
                    f"{subscription.failures} deliveries in a row failed; the last: {why}"
                )
                log.warning("webhook paused", extra={"subscription": str(subscription_id)})
            else:
                wait = backoff_s(subscription.failures, self.settings)
                subscription.next_attempt_at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=wait)
            return False


async def _lead(database: Database) -> Any:
    """A connection (autocommit: it holds no transaction open) holding the delivery lock, or
    None when another process holds it. A session lock: run the worker on a direct
    connection, not through a PgBouncer in transaction mode."""
    conn = await database.delivery_engine.connect()
    try:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        if await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": DELIVERY_LOCK}):
            return conn
    except Exception:
        await conn.invalidate()
        raise
    await conn.close()
    return None


async def _step_down(leader: Any) -> None:
    """Give the lock back before the connection goes back to the pool (or drop it)."""
    try:
        await leader.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": DELIVERY_LOCK})
        await leader.close()
    except Exception:
        await leader.invalidate()


async def run_delivery(database: Database, settings: Settings) -> None:
    """Deliver webhooks until cancelled, while this process holds the delivery lock (another
    process holding it is waited on); errors are logged, never fatal."""
    async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as client:
        worker = Worker(database, settings, client)
        while True:
            try:
                leader = await _lead(database)
            except Exception:  # a database outage must not end the loop
                log.warning("taking the delivery lock failed", exc_info=True)
                leader = None
            if leader is None:
                await asyncio.sleep(settings.webhook_poll_s * 5)
                continue
            try:
                await _deliver(worker, leader, settings)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("webhook delivery failed", exc_info=True)
                await asyncio.sleep(settings.webhook_poll_s)
            finally:
                with anyio.CancelScope(shield=True):
                    await _step_down(leader)


# Delivered messages are kept this long (for the deliveries page and replays), then trimmed
# with their attempts, once an hour.
TRIM_EVERY_S = 3600
TRIM = text(
    "DELETE FROM delivery WHERE state = 'delivered'"
    " AND delivered_at < now() - make_interval(days => :days)"
)


# The channel the change feed's trigger notifies at commit (itk_notify_changes), and how
# long the worker lets commits gather once woken.
CHANGES_CHANNEL = "itk_event_changes"
COALESCE_S = 0.02
# After a commit's notification the worker looks again after RECHECK_S, then twice as long
# each time up to RECHECK_MAX_S (or the poll's interval), for as long as the feed holds
# committed changes back (an older transaction, of any database on the server, is still
# open): when that one ends, no notification comes.
RECHECK_S, RECHECK_MAX_S = 0.1, 2.0
HELD_BACK = select(exists().where(EventChange.xid >= WATERMARK))


@dataclass
class Wake:
    """What ends the delivery loop's wait: a change committed (a notification), or a turn
    that ended after one came; otherwise the poll interval."""

    event: asyncio.Event
    generation: int = 0

    def changed(self) -> None:
        self.generation += 1
        self.event.set()

    async def wait(self, timeout_s: float) -> None:
        """Until woken or timeout_s; once woken, a moment more (COALESCE_S), so that a burst
        of commits starts one round of turns, not one per commit."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await self.event.wait()
                await asyncio.sleep(COALESCE_S)
        self.event.clear()


async def _listen(database: Database, wake: Wake) -> None:
    """LISTEN for committed changes on a connection of its own (psycopg, autocommit) until
    cancelled; reconnects after a failure (the poll goes on meanwhile)."""
    while True:
        try:
            conn = await psycopg.AsyncConnection.connect(libpq_url(database.url), autocommit=True)
            async with conn:
                await conn.execute(f"LISTEN {CHANGES_CHANNEL}")
                # What committed before this LISTEN (at start, or while reconnecting) sent
                # its notification to no one: look once now rather than at the next poll.
                wake.changed()
                async for _ in conn.notifies():
                    wake.changed()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("listening for changes failed; polling meanwhile", exc_info=True)
            await asyncio.sleep(5)


async def _deliver(worker: Worker, leader: Any, settings: Settings) -> None:
    running: dict[uuid.UUID, asyncio.Task[int]] = {}
    trimmed_at = 0.0
    wake = Wake(asyncio.Event())
    listener = asyncio.create_task(_listen(worker.database, wake))
    recheck_s = 0.0

    def start(subscription_id: uuid.UUID) -> asyncio.Task[int]:
        # A turn that ends after a change came may have read the feed before it: look again.
        seen = wake.generation
        task = asyncio.create_task(worker.turn(subscription_id))
        task.add_done_callback(lambda _: wake.event.set() if wake.generation > seen else None)
        return task

    try:
        while True:
            # The lock's connection must still be there: if it is gone, so is the lock.
            await leader.execute(text("SELECT 1"))
            if time.monotonic() - trimmed_at > TRIM_EVERY_S:
                await leader.execute(TRIM, {"days": settings.webhook_keep_days})
                trimmed_at = time.monotonic()
            for subscription_id, task in list(running.items()):
                if task.done():
                    del running[subscription_id]
                    if (error := task.exception()) is not None:
                        log.warning("webhook turn failed", exc_info=error)
            if (free := settings.webhook_concurrency - len(running)) > 0:
                for subscription_id in await worker.lease(free):
                    running[subscription_id] = start(subscription_id)
            seen = wake.generation
            await wake.wait(recheck_s or settings.webhook_poll_s)
            if wake.generation != seen:
                recheck_s = min(RECHECK_S, settings.webhook_poll_s)
            elif recheck_s:
                held = (await leader.execute(HELD_BACK)).scalar()
                longer = min(2 * recheck_s, RECHECK_MAX_S, settings.webhook_poll_s)
                recheck_s = longer if held else 0.0
    finally:
        listener.cancel()
        for task in running.values():
            task.cancel()
        with anyio.CancelScope(shield=True):
            await asyncio.gather(listener, *running.values(), return_exceptions=True)
