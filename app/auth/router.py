import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.auth import service
from app.auth.dependencies import Admin, Reader
from app.auth.schemas import KeyCreate, KeyCreated, KeyOut
from app.core.db import SessionDep
from app.core.pagination import CursorQuery, Page

router = APIRouter(prefix="/v1/keys", tags=["keys"])


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_key(
    body: KeyCreate, session: SessionDep, admin: Admin, response: Response
) -> KeyCreated:
    """Issue a key. The secret is in this response and never again."""
    key, secret = await service.create_key(session, body.name, body.role, body.expires_at)
    response.headers["Location"] = f"/v1/keys/{key.id}"
    return KeyCreated(
        id=key.id,
        name=key.name,
        role=body.role,
        prefix=key.prefix,
        secret=secret,
        expires_at=key.expires_at,
        created_at=key.created_at,
    )


@router.get("")
async def list_keys(
    session: SessionDep,
    admin: Admin,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: CursorQuery = None,
) -> Page[KeyOut]:
    """All keys, oldest first, without secrets."""
    return await service.list_keys(session, limit, cursor)


@router.get("/me")
async def my_key(key: Reader) -> KeyOut:
    """The key making the request: its id, name and role (what it may do), without its secret.
    Any key may ask about itself, and only about itself."""
    return KeyOut.model_validate(key)


@router.delete("/{key_id}")
async def revoke_key(key_id: uuid.UUID, session: SessionDep, admin: Admin) -> KeyOut:
    """Revoke a key: it stops working at once and stays listed."""
    return KeyOut.model_validate(await service.revoke_key(session, key_id))
