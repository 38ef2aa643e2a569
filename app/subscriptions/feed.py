"""A saved search's Atom feed: its newest events, for feed readers and chat integrations."""

import datetime as dt
import uuid
from typing import Any

import orjson
from feedgen.feed import FeedGenerator
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import ApiKey
from app.events import EventListParams, list_events
from app.subscriptions import service

MEDIA_TYPE = "application/atom+xml"
# The entries of a feed: the events of the search changed last.
FEED_ENTRIES = 50


def _title(event: dict[str, Any]) -> str:
    region = event.get("region") or {}
    where = ", ".join(
        str(part) for part in (event.get("location_name"), region.get("name")) if part
    )
    kind = str(event.get("sub_event_type", "")).replace("_", " ")
    return f"{event['event_date']} · {kind}{f' · {where}' if where else ''} ({event['status']})"


async def search_feed(
    session: AsyncSession,
    search_id: uuid.UUID,
    key: ApiKey | None,
    token: str | None,
    base_url: str,
) -> bytes:
    """The search's Atom feed: one entry per event, the ones changed last first."""
    search, reader = await service.search_for_feed(session, search_id, key, token)
    params = EventListParams.model_validate(
        {**search.filters, "sort": "-updated_at", "limit": FEED_ENTRIES}
    )
    page = await list_events(session, params, reader)
    base = base_url.rstrip("/")
    feed = FeedGenerator()
    feed.id(f"urn:uuid:{search.id}")
    feed.title(f"incident-tracker: {search.name}")
    feed.link(href=f"{base}/v1/searches/{search.id}/feed.atom", rel="self")
    feed.link(href=f"{base}/v1/events?search={search.id}", rel="alternate")
    feed.updated(search.updated_at)
    newest = search.updated_at
    for document in page.items:
        event = orjson.loads(document)
        updated = dt.datetime.fromisoformat(event["updated_at"])
        newest = max(newest, updated)
        entry = feed.add_entry(order="append")
        entry.id(f"urn:uuid:{event['id']}")
        entry.title(_title(event))
        entry.updated(updated)
        entry.published(dt.datetime.fromisoformat(event["created_at"]))
        entry.link(href=f"{base}/v1/events/{event['id']}")
        entry.summary(event.get("summary") or "")
        # The event as JSON text (feedgen sends only text, html and xhtml unencoded).
        entry.content(document, type="text")
        entry.author({"name": event.get("created_by_name") or str(event["created_by"])})
    feed.updated(newest)
    result: bytes = feed.atom_str(pretty=False)
    return result
