"""The queries of saved searches, subscriptions and their delivery queue."""

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.subscriptions.models import (
    Delivery,
    DeliveryAttempt,
    SavedSearch,
    Subscription,
    SubscriptionMember,
)

# The feed position below which every transaction has ended: where a new subscription starts
# (transactions still running then are delivered when they commit).
FEED_START = text("SELECT (pg_snapshot_xmin(pg_current_snapshot())::text)::bigint")


async def searches_of(session: AsyncSession, owner: uuid.UUID | None) -> list[SavedSearch]:
    query = select(SavedSearch).order_by(SavedSearch.created_at, SavedSearch.id)
    if owner is not None:
        query = query.where(SavedSearch.owner == owner)
    return list((await session.execute(query)).scalars())


async def count_searches(session: AsyncSession, owner: uuid.UUID) -> int:
    query = select(func.count()).select_from(SavedSearch).where(SavedSearch.owner == owner)
    return int(await session.scalar(query) or 0)


async def get_search(
    session: AsyncSession, search_id: uuid.UUID, for_update: bool = False
) -> SavedSearch | None:
    query = select(SavedSearch).where(SavedSearch.id == search_id)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def now(session: AsyncSession) -> dt.datetime:
    """The transaction's time."""
    return await session.scalar(select(func.now()))  # type: ignore[return-value]


async def feed_start(session: AsyncSession) -> int:
    return int(await session.scalar(FEED_START) or 0)


async def subscriptions_of(
    session: AsyncSession, owner: uuid.UUID | None, search_id: uuid.UUID | None = None
) -> list[Subscription]:
    query = select(Subscription).order_by(Subscription.created_at, Subscription.id)
    if owner is not None:
        query = query.where(Subscription.owner == owner)
    if search_id is not None:
        query = query.where(Subscription.search_id == search_id)
    return list((await session.execute(query)).scalars())


async def get_subscription(
    session: AsyncSession, subscription_id: uuid.UUID, for_update: bool = False
) -> Subscription | None:
    query = select(Subscription).where(Subscription.id == subscription_id)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def pending_counts(
    session: AsyncSession, subscription_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    if not subscription_ids:
        return {}
    query = (
        select(Delivery.subscription_id, func.count())
        .where(Delivery.subscription_id.in_(subscription_ids), Delivery.state == "pending")
        .group_by(Delivery.subscription_id)
    )
    return {row[0]: int(row[1]) for row in await session.execute(query)}


async def add_members(
    session: AsyncSession, subscription_id: uuid.UUID, event_ids: Sequence[uuid.UUID]
) -> None:
    if event_ids:
        rows = [{"subscription_id": subscription_id, "event_id": e} for e in event_ids]
        await session.execute(insert(SubscriptionMember).on_conflict_do_nothing(), rows)


async def remove_members(
    session: AsyncSession, subscription_id: uuid.UUID, event_ids: Sequence[uuid.UUID]
) -> None:
    if event_ids:
        await session.execute(
            delete(SubscriptionMember).where(
                SubscriptionMember.subscription_id == subscription_id,
                SubscriptionMember.event_id.in_(event_ids),
            )
        )


async def members_among(
    session: AsyncSession, subscription_id: uuid.UUID, event_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    query = select(SubscriptionMember.event_id).where(
        SubscriptionMember.subscription_id == subscription_id,
        SubscriptionMember.event_id.in_(event_ids),
    )
    return set((await session.execute(query)).scalars())


async def queue(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(Delivery), rows)


async def deliveries(
    session: AsyncSession, subscription_id: uuid.UUID, before_seq: int | None, limit: int
) -> list[Delivery]:
    """The subscription's deliveries, newest first."""
    query = select(Delivery).where(Delivery.subscription_id == subscription_id)
    if before_seq is not None:
        query = query.where(Delivery.seq < before_seq)
    query = query.order_by(Delivery.seq.desc()).limit(limit)
    return list((await session.execute(query)).scalars())


async def attempts_of(
    session: AsyncSession, delivery_seqs: Sequence[int], per_delivery: int
) -> dict[int, list[DeliveryAttempt]]:
    """The latest attempts of these deliveries (at most per_delivery each), newest first."""
    if not delivery_seqs:
        return {}
    ranked = (
        select(
            DeliveryAttempt,
            func.row_number()
            .over(
                partition_by=DeliveryAttempt.delivery_seq,
                order_by=DeliveryAttempt.id.desc(),
            )
            .label("n"),
        )
        .where(DeliveryAttempt.delivery_seq.in_(delivery_seqs))
        .subquery()
    )
    attempt = select(DeliveryAttempt).from_statement(
        select(ranked).where(ranked.c.n <= per_delivery).order_by(ranked.c.id.desc())
    )
    found: dict[int, list[DeliveryAttempt]] = {}
    for row in (await session.execute(attempt)).scalars():
        found.setdefault(row.delivery_seq, []).append(row)
    return found


async def requeue_after(
    session: AsyncSession, subscription_id: uuid.UUID, xid: int, seq: int, limit: int
) -> int:
    """Queue again, in their order, the subscription's delivered messages about changes after
    (xid, seq): at most `limit`. Returns how many."""
    result = await session.execute(
        text("""
        INSERT INTO delivery (subscription_id, cursor, event_id, kind, body, feed_xid, feed_seq)
        SELECT subscription_id, cursor, event_id, kind, body, feed_xid, feed_seq
        FROM delivery
        WHERE subscription_id = :subscription AND state = 'delivered'
          AND (feed_xid, feed_seq) > (:xid, :seq)
        ORDER BY seq
        LIMIT :limit
        """),
        {"subscription": subscription_id, "xid": xid, "seq": seq, "limit": limit},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def resume(session: AsyncSession, subscription: Subscription, now: dt.datetime) -> None:
    await session.execute(
        update(Subscription)
        .where(Subscription.id == subscription.id)
        .values(state="active", paused_reason=None, failures=0, next_attempt_at=now)
    )
