"""The CurrentKey dependency and its role-checking variants."""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from app.auth.models import ApiKey, Role
from app.auth.service import authenticate, authorize
from app.config import get_settings
from app.db import SessionDep


async def current_key(request: Request, session: SessionDep) -> ApiKey:
    key = await authenticate(
        session, request.headers.get("authorization"), get_settings().key_touch_interval_s
    )
    request.state.key_id = key.id
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
