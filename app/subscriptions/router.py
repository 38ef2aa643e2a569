import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from app.auth.dependencies import Reader, current_key
from app.auth.models import ApiKey
from app.core.db import SessionDep
from app.core.pagination import CURSOR_SCHEMA, CursorQuery, Page
from app.subscriptions import feed, service
from app.subscriptions.schemas import (
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

Limit = Annotated[int, Query(ge=1, le=100)]
searches = APIRouter(prefix="/v1/searches", tags=["subscriptions"])
subscriptions = APIRouter(prefix="/v1/subscriptions", tags=["subscriptions"])


@searches.post("", status_code=status.HTTP_201_CREATED)
async def create_search(body: SearchCreate, session: SessionDep, key: Reader) -> SearchOut:
    """Save a set of list filters under a name, owned by this key: `search=<id>` on lists,
    exports, stats and the map applies them; webhooks and an Atom feed follow them."""
    return await service.create_search(session, body, key)


@searches.get("")
async def list_searches(session: SessionDep, key: Reader) -> list[SearchOut]:
    """This key's saved searches (an admin's: everyone's)."""
    return await service.list_searches(session, key)


@searches.get("/{search_id}")
async def get_search(search_id: uuid.UUID, session: SessionDep, key: Reader) -> SearchOut:
    return await service.get_search(session, search_id, key)


@searches.patch("/{search_id}")
async def patch_search(
    search_id: uuid.UUID, body: SearchPatch, session: SessionDep, key: Reader
) -> SearchOut:
    """Rename it or give it new filters (its webhooks follow from the next change on)."""
    return await service.patch_search(session, search_id, body, key)


@searches.delete("/{search_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_search(search_id: uuid.UUID, session: SessionDep, key: Reader) -> None:
    """Delete the search and its webhooks."""
    await service.delete_search(session, search_id, key)


@searches.post("/{search_id}/feed-token")
async def new_feed_token(search_id: uuid.UUID, session: SessionDep, key: Reader) -> FeedToken:
    """A read token for the search's Atom feed (`?token=`), for readers that cannot send a
    header; shown once, a new one replaces it."""
    return await service.new_feed_token(session, search_id, key)


async def _key_or_token(request: Request, session: SessionDep, token: str | None) -> ApiKey | None:
    """The key in the Authorization header, checked like any (401 when missing or bad);
    none when a feed token stands in for it."""
    if token is not None and request.headers.get("authorization") is None:
        return None
    return await current_key(request, session)


@searches.get(
    "/{search_id}/feed.atom",
    response_class=Response,
    responses={200: {"content": {feed.MEDIA_TYPE: {}}}},
)
async def search_feed(
    search_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    token: Annotated[str | None, Query(max_length=100, description="the feed's read token")] = None,
) -> Response:
    """The newest events of the search, as Atom, for feed readers: a key in the header, or
    the search's feed token as `token=`."""
    key = await _key_or_token(request, session, token)
    body = await feed.search_feed(session, search_id, key, token, str(request.base_url))
    return Response(body, media_type=feed.MEDIA_TYPE, headers={"Cache-Control": "no-cache"})


@subscriptions.post("", status_code=status.HTTP_201_CREATED)
async def create_subscription(
    body: SubscriptionCreate, request: Request, session: SessionDep, key: Reader
) -> SubscriptionWithSecret:
    """A webhook on one of this key's saved searches: every event that enters, changes in or
    leaves it, POSTed to the URL in change-feed order and signed per Standard Webhooks. The
    signing secret is shown in this answer only."""
    settings = request.app.state.settings
    return await service.create_subscription(session, body, key, settings)


@subscriptions.get("")
async def list_subscriptions(session: SessionDep, key: Reader) -> list[SubscriptionOut]:
    return await service.list_subscriptions(session, key)


@subscriptions.get("/{subscription_id}")
async def get_subscription(
    subscription_id: uuid.UUID, session: SessionDep, key: Reader
) -> SubscriptionOut:
    return await service.get_subscription(session, subscription_id, key)


@subscriptions.patch("/{subscription_id}")
async def patch_subscription(
    subscription_id: uuid.UUID,
    body: SubscriptionPatch,
    request: Request,
    session: SessionDep,
    key: Reader,
) -> SubscriptionOut:
    """A new URL; `active: true` resumes a paused webhook where it stopped, `false` pauses
    it."""
    settings = request.app.state.settings
    return await service.patch_subscription(session, subscription_id, body, key, settings)


@subscriptions.delete("/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_subscription(subscription_id: uuid.UUID, session: SessionDep, key: Reader) -> None:
    await service.delete_subscription(session, subscription_id, key)


@subscriptions.post("/{subscription_id}/secret")
async def rotate_secret(
    subscription_id: uuid.UUID, session: SessionDep, key: Reader
) -> SubscriptionWithSecret:
    """A new signing secret, shown once; the next deliveries are signed with it."""
    return await service.rotate_secret(session, subscription_id, key)


@subscriptions.post("/{subscription_id}/replay")
async def replay(
    subscription_id: uuid.UUID,
    session: SessionDep,
    key: Reader,
    since: Annotated[
        str,
        Query(
            max_length=500,
            json_schema_extra=CURSOR_SCHEMA,
            description="a delivery's cursor: what came after it is sent again",
        ),
    ],
) -> ReplayOut:
    """Send again, in order, what was delivered about the changes after `since`."""
    return await service.replay(session, subscription_id, since, key)


@subscriptions.get("/{subscription_id}/deliveries")
async def deliveries(
    subscription_id: uuid.UUID,
    session: SessionDep,
    key: Reader,
    limit: Limit = 100,
    cursor: CursorQuery = None,
) -> Page[DeliveryOut]:
    """The webhook's deliveries, newest first, with their latest attempts: status codes,
    latencies, errors, the start of each answer."""
    return await service.deliveries(session, subscription_id, key, limit, cursor)
