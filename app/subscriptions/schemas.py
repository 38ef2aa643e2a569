"""Saved searches, subscriptions and deliveries as the API takes and shows them."""

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.core.text import NO_NUL

Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_NUL)]
WebhookUrl = Annotated[str, StringConstraints(min_length=1, max_length=2000, pattern=NO_NUL)]
# A search's filters as the list takes them: each a value or a list of values.
Filters = dict[
    Annotated[str, StringConstraints(max_length=50)],
    Annotated[str, StringConstraints(max_length=1000)]
    | bool
    | float
    | list[Annotated[str, StringConstraints(max_length=1000)]],
]
Kind = Literal["entered", "changed", "left"]
# The most saved searches a key may own, subscriptions per search, and deliveries a page
# shows.
MAX_SEARCHES_PER_KEY = 200
MAX_SUBSCRIPTIONS_PER_SEARCH = 20


class SearchCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    filters: Filters = Field(
        default_factory=dict,
        max_length=30,
        description="list filters by name, as /v1/events takes them: "
        '{"region": ["RU-KRS"], "status": "verified", "near": "51.19,35.27", "radius_km": 20}',
    )


class SearchPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    filters: Filters | None = Field(default=None, max_length=30)


class SearchOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    owner: uuid.UUID
    filters: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime
    # Where its Atom feed is (a key in the header, or the feed token as `token=`).
    feed_url: str = ""


class FeedToken(BaseModel):
    feed_url: str
    token: str = Field(description="shown once: a new one replaces it")


class SubscriptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    search_id: uuid.UUID
    url: WebhookUrl


class SubscriptionPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: WebhookUrl | None = None
    # true resumes a paused subscription (its failures forgotten, the queue tried at once).
    active: bool | None = None


class SubscriptionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    search_id: uuid.UUID
    owner: uuid.UUID
    url: str
    state: Literal["active", "paused"]
    paused_reason: str | None
    failures: int
    next_attempt_at: dt.datetime
    created_at: dt.datetime
    # Deliveries queued and not yet accepted by the receiver.
    pending: int = 0


class SubscriptionWithSecret(SubscriptionOut):
    secret: str = Field(description="shown once: verify the webhook-signature header with it")


class AttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    attempted_at: dt.datetime
    status_code: int | None
    latency_ms: float | None
    error: str | None
    response_prefix: str | None


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    cursor: str
    event_id: uuid.UUID
    kind: Kind
    state: Literal["pending", "delivered"]
    attempts: int
    created_at: dt.datetime
    delivered_at: dt.datetime | None
    last_attempts: list[AttemptOut] = []


class ReplayOut(BaseModel):
    queued: int
