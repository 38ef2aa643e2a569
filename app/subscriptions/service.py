"""Saved searches and webhooks: who owns what, what a search may hold, what a URL may be."""

import base64
import hashlib
import ipaddress
import secrets
import socket
import uuid
from typing import Any
from urllib.parse import urlsplit

import anyio
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import ApiKey, Role
from app.changes import feed_position
from app.core.config import Settings
from app.core.errors import Conflict, NotFound, UnprocessableContent
from app.core.pagination import Page, decode_position, encode_cursor
from app.events import EventFilters, check_filters, on_saved_search
from app.subscriptions import repository
from app.subscriptions.models import SavedSearch, Subscription
from app.subscriptions.schemas import (
    MAX_SEARCHES_PER_KEY,
    MAX_SUBSCRIPTIONS_PER_SEARCH,
    AttemptOut,
    DeliveryOut,
    FeedToken,
    ReplayOut,
    SearchCreate,
    SearchOut,
    SearchPatch,
    SubscriptionCreate,
    SubscriptionOut,
    SubscriptionPatch,
    SubscriptionWithSecret,
)

# What a saved search may not hold: deleted events are for admins asking each time, a search
# does not name a search, and a replica position is a request's, not a search's.
NOT_SAVED = {"include_deleted", "search", "min_lsn"}
# A webhook starts knowing which events are in its search: at most this many (a search
# wider than that is a firehose: read the change feed instead).
MAX_MEMBERS = 200_000
# The most messages one replay queues again.
MAX_REPLAY = 100_000
# How long a webhook URL's host may take to resolve.
RESOLVE_S = 5
FEED_TOKEN_PREFIX = "itf_"  # noqa: S105 (a prefix, not a secret)


def _visible(owner: uuid.UUID, key: ApiKey) -> bool:
    return owner == key.id or key.role_level >= Role.admin


async def _search(session: AsyncSession, search_id: uuid.UUID, key: ApiKey) -> SavedSearch:
    """The saved search if this key owns it (or is an admin): 404 for anyone else, who is
    not told it exists."""
    search = await repository.get_search(session, search_id)
    if search is None or not _visible(search.owner, key):
        raise NotFound(f"No saved search {search_id}.")
    return search


def _feed_url(search_id: uuid.UUID) -> str:
    return f"/v1/searches/{search_id}/feed.atom"


def _search_out(search: SavedSearch) -> SearchOut:
    return SearchOut.model_validate(search).model_copy(update={"feed_url": _feed_url(search.id)})


async def _checked_filters(
    session: AsyncSession, given: dict[str, Any], owner: ApiKey
) -> dict[str, Any]:
    """A search's filters validated as the list validates its query (422 naming each bad
    one), names checked against the gazetteer, kept without their defaults."""
    refused = sorted(set(given) & NOT_SAVED)
    if refused:
        raise UnprocessableContent(
            f"A saved search cannot hold {', '.join(refused)}.",
            [
                {"loc": ["body", "filters", name], "msg": "not in a saved search"}
                for name in refused
            ],
        )
    try:
        filters = EventFilters.model_validate(given)
    except ValidationError as exc:
        raise UnprocessableContent(
            "The search's filters are not valid list filters.",
            [
                {"loc": ["body", "filters", *map(str, error["loc"])], "msg": error["msg"]}
                for error in exc.errors()
            ],
        ) from exc
    await check_filters(session, filters, owner)
    return filters.model_dump(mode="json", exclude_defaults=True, exclude=NOT_SAVED)


async def saved_filters_for(
    session: AsyncSession, search_id: uuid.UUID, key: ApiKey
) -> dict[str, Any]:
    """`search=` on lists, exports, stats and the map: the search's filters, for its owner or
    an admin."""
    return dict((await _search(session, search_id, key)).filters)


on_saved_search(saved_filters_for)


async def create_search(session: AsyncSession, body: SearchCreate, owner: ApiKey) -> SearchOut:
    if await repository.count_searches(session, owner.id) >= MAX_SEARCHES_PER_KEY:
        raise Conflict(
            f"This key owns {MAX_SEARCHES_PER_KEY} saved searches, the most it may: delete one."
        )
    filters = await _checked_filters(session, body.filters, owner)
    search = SavedSearch(name=body.name, owner=owner.id, filters=filters)
    session.add(search)
    await session.flush()
    await session.refresh(search)
    return _search_out(search)


async def list_searches(session: AsyncSession, key: ApiKey) -> list[SearchOut]:
    """The key's own searches; every key's for an admin."""
    owner = None if key.role_level >= Role.admin else key.id
    return [_search_out(search) for search in await repository.searches_of(session, owner)]


async def get_search(session: AsyncSession, search_id: uuid.UUID, key: ApiKey) -> SearchOut:
    return _search_out(await _search(session, search_id, key))


async def patch_search(
    session: AsyncSession, search_id: uuid.UUID, patch: SearchPatch, key: ApiKey
) -> SearchOut:
    """A new name or new filters. New filters apply to the search's webhooks from the next
    change on: an event is judged against them when it next changes."""
    search = await _search(session, search_id, key)
    if patch.name is not None:
        search.name = patch.name
    if patch.filters is not None:
        search.filters = await _checked_filters(session, patch.filters, key)
    search.updated_at = await repository.now(session)
    await session.flush()
    return _search_out(search)


async def delete_search(session: AsyncSession, search_id: uuid.UUID, key: ApiKey) -> None:
    """Delete the search and its webhooks."""
    await session.delete(await _search(session, search_id, key))
    await session.flush()


def _new_feed_token() -> str:
    return FEED_TOKEN_PREFIX + secrets.token_urlsafe(24)


def _sha256(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


async def new_feed_token(session: AsyncSession, search_id: uuid.UUID, key: ApiKey) -> FeedToken:
    """A read token for the search's Atom feed (for feed readers that send no header),
    shown once; a new one replaces the old."""
    search = await _search(session, search_id, key)
    token = _new_feed_token()
    search.feed_token_sha256 = _sha256(token)
    await session.flush()
    return FeedToken(feed_url=_feed_url(search.id), token=token)


async def search_for_feed(
    session: AsyncSession, search_id: uuid.UUID, key: ApiKey | None, token: str | None
) -> tuple[SavedSearch, ApiKey]:
    """The search and the key it is read as: a key that may see it, or, with its feed token,
    its owner (while the owner's key may read). 404 for anything else."""
    if key is not None:
        return await _search(session, search_id, key), key
    search = await repository.get_search(session, search_id)
    owner = None if search is None else await session.get(ApiKey, search.owner)
    if (
        search is None
        or owner is None
        or not owner.usable
        or token is None
        or search.feed_token_sha256 is None
        or not secrets.compare_digest(search.feed_token_sha256, _sha256(token))
    ):
        raise NotFound(f"No saved search {search_id}, or not with that token.")
    return search, owner


# ---------------------------------------------------------------- webhooks


def new_secret() -> str:
    """A Standard Webhooks signing secret: whsec_ and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


async def non_public_address(hostname: str, port: int | None, timeout_s: float) -> str | None:
    """The first of the host's addresses that is loopback, private, link-local or multicast,
    or None; OSError (or TimeoutError, past timeout_s) when the host does not resolve. Checked
    when a webhook URL is given and again before each POST (a name may point elsewhere later)."""
    with anyio.fail_after(timeout_s):
        found = await anyio.getaddrinfo(hostname, port or 443, type=socket.SOCK_STREAM)
    for info in found:
        ip = ipaddress.ip_address(str(info[4][0]))
        if not ip.is_global or ip.is_multicast:
            return str(ip)
    return None


async def check_url(url: str, settings: Settings, field: str = "url") -> None:
    """A webhook URL: absolute http(s) (https only in production), no credentials, and (unless
    INCIDENTS_WEBHOOK_ALLOW_PRIVATE) no loopback, private or link-local address, the host's
    every address checked."""

    def refuse(message: str) -> UnprocessableContent:
        return UnprocessableContent(message, [{"loc": ["body", field], "msg": message}])

    parts = urlsplit(url)
    schemes = ("https",) if settings.env == "production" else ("https", "http")
    if parts.scheme not in schemes or not parts.hostname:
        raise refuse(f"The URL must be absolute, with scheme {' or '.join(schemes)}.")
    if parts.username or parts.password:
        raise refuse("The URL may not carry a user name or password.")
    try:
        port = parts.port
    except ValueError as exc:
        raise refuse("The URL's port is not a number from 0 to 65535.") from exc
    if settings.webhook_allow_private:
        return
    try:
        address = await non_public_address(parts.hostname, port, RESOLVE_S)
    except (OSError, TimeoutError) as exc:
        raise refuse(f"The URL's host {parts.hostname} does not resolve.") from exc
    if address is not None:
        raise refuse(
            f"The URL's host {parts.hostname} is a loopback, private or link-local address; "
            "the service's operator may allow those (INCIDENTS_WEBHOOK_ALLOW_PRIVATE)."
        )


async def _subscription(
    session: AsyncSession, subscription_id: uuid.UUID, key: ApiKey, for_update: bool = False
) -> Subscription:
    subscription = await repository.get_subscription(session, subscription_id, for_update)
    if subscription is None or not _visible(subscription.owner, key):
        raise NotFound(f"No subscription {subscription_id}.")
    return subscription


async def _outs(session: AsyncSession, subscriptions: list[Subscription]) -> list[SubscriptionOut]:
    pending = await repository.pending_counts(session, [s.id for s in subscriptions])
    return [
        SubscriptionOut.model_validate(s).model_copy(update={"pending": pending.get(s.id, 0)})
        for s in subscriptions
    ]


async def create_subscription(
    session: AsyncSession, body: SubscriptionCreate, key: ApiKey, settings: Settings
) -> SubscriptionWithSecret:
    """A webhook on one of the key's searches: from now on, every event that enters, changes
    in or leaves it is POSTed to the URL. The secret is shown here only."""
    search = await _search(session, body.search_id, key)
    await check_url(body.url, settings)
    if len(await repository.subscriptions_of(session, None, search.id)) >= (
        MAX_SUBSCRIPTIONS_PER_SEARCH
    ):
        raise Conflict(f"The search has {MAX_SUBSCRIPTIONS_PER_SEARCH} webhooks, the most it may.")
    filters = EventFilters.model_validate(search.filters)
    await check_filters(session, filters, key)
    members = await members_now(session, filters)
    secret = new_secret()
    subscription = Subscription(
        search_id=search.id,
        owner=key.id,
        url=body.url,
        secret=secret,
        feed_xid=await repository.feed_start(session),
        feed_seq=0,
    )
    session.add(subscription)
    await session.flush()
    await repository.add_members(session, subscription.id, members)
    await session.refresh(subscription)
    (out,) = await _outs(session, [subscription])
    return SubscriptionWithSecret(**out.model_dump(), secret=secret)


async def members_now(session: AsyncSession, filters: EventFilters) -> list[uuid.UUID]:
    """The events in a search now (what a new webhook starts from); 422 past MAX_MEMBERS."""
    from app.subscriptions.delivery import events_in

    members = await events_in(session, filters, MAX_MEMBERS + 1)
    if len(members) > MAX_MEMBERS:
        raise UnprocessableContent(
            f"The search matches more than {MAX_MEMBERS:,} events: too wide for a webhook. "
            "Narrow it, or follow the change feed (/v1/changes) instead."
        )
    return members


async def list_subscriptions(session: AsyncSession, key: ApiKey) -> list[SubscriptionOut]:
    owner = None if key.role_level >= Role.admin else key.id
    return await _outs(session, await repository.subscriptions_of(session, owner))


async def get_subscription(
    session: AsyncSession, subscription_id: uuid.UUID, key: ApiKey
) -> SubscriptionOut:
    (out,) = await _outs(session, [await _subscription(session, subscription_id, key)])
    return out


async def patch_subscription(
    session: AsyncSession,
    subscription_id: uuid.UUID,
    patch: SubscriptionPatch,
    key: ApiKey,
    settings: Settings,
) -> SubscriptionOut:
    """A new URL; `active: true` resumes a paused webhook (its failures forgotten, its queue
    tried at once, nothing skipped), `active: false` pauses it."""
    subscription = await _subscription(session, subscription_id, key, for_update=True)
    if patch.url is not None:
        await check_url(patch.url, settings)
        subscription.url = patch.url
    if patch.active is True:
        subscription.state = "active"
        subscription.paused_reason = None
        subscription.failures = 0
        subscription.next_attempt_at = await repository.now(session)
    elif patch.active is False and subscription.state == "active":
        subscription.state = "paused"
        subscription.paused_reason = f"paused by key {key.name} ({key.id})"
    await session.flush()
    await session.refresh(subscription)
    (out,) = await _outs(session, [subscription])
    return out


async def delete_subscription(
    session: AsyncSession, subscription_id: uuid.UUID, key: ApiKey
) -> None:
    await session.delete(await _subscription(session, subscription_id, key, for_update=True))
    await session.flush()


async def rotate_secret(
    session: AsyncSession, subscription_id: uuid.UUID, key: ApiKey
) -> SubscriptionWithSecret:
    """A new signing secret, shown once; deliveries from now on are signed with it."""
    subscription = await _subscription(session, subscription_id, key, for_update=True)
    secret = new_secret()
    subscription.secret = secret
    await session.flush()
    (out,) = await _outs(session, [subscription])
    return SubscriptionWithSecret(**out.model_dump(), secret=secret)


async def replay(
    session: AsyncSession, subscription_id: uuid.UUID, since: str, key: ApiKey
) -> ReplayOut:
    """Queue again, in order, what was delivered about the changes after a feed cursor
    (the receiver's last, or any earlier one): at most MAX_REPLAY messages."""
    subscription = await _subscription(session, subscription_id, key, for_update=True)
    xid, seq = feed_position(since)
    queued = await repository.requeue_after(session, subscription.id, xid, seq, MAX_REPLAY)
    return ReplayOut(queued=queued)


async def deliveries(
    session: AsyncSession, subscription_id: uuid.UUID, key: ApiKey, limit: int, cursor: str | None
) -> Page[DeliveryOut]:
    """The webhook's deliveries, newest first, each with its latest attempts (when, status
    code, latency, error, the start of the answer)."""
    subscription = await _subscription(session, subscription_id, key)
    before = decode_position(cursor, bound=2**62) if cursor else None
    rows = await repository.deliveries(
        session, subscription.id, int(before) if before is not None else None, limit + 1
    )
    attempts = await repository.attempts_of(session, [row.seq for row in rows[:limit]], 5)
    items = [
        DeliveryOut.model_validate(row).model_copy(
            update={
                "last_attempts": [AttemptOut.model_validate(a) for a in attempts.get(row.seq, [])]
            }
        )
        for row in rows[:limit]
    ]
    next_cursor = encode_cursor(rows[limit - 1].seq) if len(rows) > limit else None
    return Page[DeliveryOut](items=items, next_cursor=next_cursor)
