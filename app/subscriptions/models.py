"""Saved searches, the webhooks on them, and what was delivered."""

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Double,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import Base, created_at_column, uuid_pk


class SavedSearch(Base):
    """A name for a set of list filters, owned by a key: usable as `search=` on lists,
    exports, stats and the map, with an Atom feed and webhooks."""

    __tablename__ = "saved_search"
    __table_args__ = (Index(None, "owner"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(Text)
    owner: Mapped[uuid.UUID] = mapped_column(ForeignKey("api_key.id"))
    # The list filters, as the query would give them (EventFilters, defaults left out).
    filters: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # The Atom feed's read token, hashed (shown once; none until asked for).
    feed_token_sha256: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = created_at_column()
    updated_at: Mapped[dt.datetime] = created_at_column()


class Subscription(Base):
    """A webhook: the events that enter, change in or leave a saved search, POSTed to a URL
    in change-feed order, signed per Standard Webhooks."""

    __tablename__ = "subscription"
    __table_args__ = (
        Index(None, "search_id"),
        CheckConstraint("state IN ('active', 'paused')", name="state"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    search_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("saved_search.id", ondelete="CASCADE"))
    owner: Mapped[uuid.UUID] = mapped_column(ForeignKey("api_key.id"))
    url: Mapped[str] = mapped_column(Text)
    # The signing secret (whsec_ and base64): it signs every delivery, so it is kept.
    secret: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(Text, server_default="active")
    paused_reason: Mapped[str | None] = mapped_column(Text)
    # Consecutive failed attempts of the delivery at the head of the queue.
    failures: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[dt.datetime] = created_at_column()
    # The change feed position read up to (xid, seq): changes after it are still to queue.
    feed_xid: Mapped[int] = mapped_column(BigInteger)
    feed_seq: Mapped[int] = mapped_column(BigInteger)
    # Held by the process delivering it, until then (a crashed worker's lease runs out).
    leased_until: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = created_at_column()


class SubscriptionMember(Base):
    """An event in a subscription's search as its deliveries last saw it: what tells an
    event entering from one changing in, and one leaving."""

    __tablename__ = "subscription_member"

    subscription_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("subscription.id", ondelete="CASCADE"), primary_key=True
    )
    event_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)


class Delivery(Base):
    """One message for a subscription, queued in change-feed order (seq), sent until a 2xx;
    its attempts are DeliveryAttempt rows."""

    __tablename__ = "delivery"
    __table_args__ = (
        Index(None, "subscription_id", "seq"),
        # The hourly trim of old delivered messages.
        Index(None, "delivered_at"),
        CheckConstraint("state IN ('pending', 'delivered')", name="state"),
    )

    seq: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    # The webhook-id header: the same on every attempt of this message.
    id: Mapped[uuid.UUID] = mapped_column(server_default=text("gen_random_uuid()"), unique=True)
    subscription_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("subscription.id", ondelete="CASCADE")
    )
    # The change feed cursor of the change it reports (the receiver dedupes and resumes by it).
    cursor: Mapped[str] = mapped_column(Text)
    # The same position as numbers (xid, seq), to replay from a cursor.
    feed_xid: Mapped[int] = mapped_column(BigInteger)
    feed_seq: Mapped[int] = mapped_column(BigInteger)
    event_id: Mapped[uuid.UUID]
    kind: Mapped[str] = mapped_column(Text)
    # The JSON body sent (the same on every attempt).
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(Text, server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    created_at: Mapped[dt.datetime] = created_at_column()
    delivered_at: Mapped[dt.datetime | None]


class DeliveryAttempt(Base):
    """One POST of a delivery: when, the answer's status and time, and a short prefix of
    its body (never more)."""

    __tablename__ = "delivery_attempt"
    __table_args__ = (Index(None, "delivery_seq"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    delivery_seq: Mapped[int] = mapped_column(ForeignKey("delivery.seq", ondelete="CASCADE"))
    attempted_at: Mapped[dt.datetime] = created_at_column()
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[float | None] = mapped_column(Double)
    error: Mapped[str | None] = mapped_column(Text)
    response_prefix: Mapped[str | None] = mapped_column(Text)
