"""The CurrentKey dependency and its role-checking variants."""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from app.auth import rate_limit
from app.auth.models import ApiKey, Role
from app.auth.service import authenticate, authorize, note_use
from app.core.db import SessionDep, get_database


async def current_key(request: Request, session: SessionDep) -> ApiKey:
    settings = request.app.state.settings
    bookkeeping = get_database(request).bookkeeping_engine
    key = await authenticate(session, request.headers.get("authorization"))
    request.state.key_id = key.id
    await note_use(bookkeeping, key, settings.key_touch_interval_s)
    if settings.rate_limit_per_minute:
        await rate_limit.check(bookkeeping, key.id, settings.rate_limit_per_minute)
    return key


def require(role: Role) -> Callable[..., Awaitable[ApiKey]]:
    async def dependency(key: Annotated[ApiKey, Depends(current_key)]) -> ApiKey:
        authorize(key, role)
        return key

    dependency.__name__ = f"require_{role.name}"
    return dependency


CurrentKey = Annotated[ApiKey, Depends(current_key)]
Reader = Annotated[ApiKey, Depends(require(Role.reader))]
Analyst = Annotated[ApiKey, Depends(require(Role.analyst))]
Verifier = Annotated[ApiKey, Depends(require(Role.verifier))]
Admin = Annotated[ApiKey, Depends(require(Role.admin))]
