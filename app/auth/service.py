"""API keys: issuing, checking, revoking. Only the SHA-256 of a secret is ever stored."""

import datetime as dt
import hashlib
import secrets
import uuid
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.auth import repository
from app.auth.models import ApiKey, Role
from app.auth.schemas import KeyOut
from app.core.errors import Conflict, Forbidden, NotFound, Unauthorized, UnprocessableContent
from app.core.pagination import Page, decode_cursor, invalid_cursor, keyset_page

SECRET_PREFIX = "itk_"  # noqa: S105 - a prefix, not a secret
PREFIX_LENGTH = len(SECRET_PREFIX) + 8


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


async def create_key(
    session: AsyncSession, name: str, role: str, expires_at: dt.datetime | None = None
) -> tuple[ApiKey, str]:
    """Issue a key; return it with its secret, which is not stored and cannot be shown again."""
    if expires_at is not None and expires_at <= dt.datetime.now(dt.UTC):
        raise UnprocessableContent(
            "expires_at must be in the future.",
            [{"loc": ["body", "expires_at"], "msg": "must be in the future"}],
        )
    secret = new_secret()
    key = ApiKey(
        name=name,
        role=role,
        prefix=secret[:PREFIX_LENGTH],
        secret_sha256=hash_secret(secret),
        expires_at=expires_at,
    )
    return await repository.add(session, key), secret


async def authenticate(session: AsyncSession, authorization: str | None) -> ApiKey:
    """The key named by an `Authorization: Bearer itk_…` header, or 401."""
    if not authorization:
        raise Unauthorized("An API key is required: send `Authorization: Bearer itk_…`.")
    scheme, _, secret = authorization.partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret.startswith(SECRET_PREFIX) or len(secret) > 200:
        raise Unauthorized("The Authorization header must be `Bearer itk_…`.")
    key = await repository.get_by_secret_hash(session, hash_secret(secret))
    if key is None:
        raise Unauthorized("The API key is not valid.")
    if key.revoked_at is not None:
        raise Unauthorized("The API key has been revoked.")
    if key.expired:
        raise Unauthorized("The API key has expired.")
    return key


async def note_use(bookkeeping: AsyncEngine, key: ApiKey, touch_interval_s: int) -> None:
    """Stamp the key's last_used_at, at most once per interval (most requests write
    nothing), in a short transaction of its own that waits for no one: a key row held by
    another transaction (a revocation in flight) is skipped this time."""
    now = dt.datetime.now(dt.UTC)
    if key.last_used_at is None or now - key.last_used_at > dt.timedelta(seconds=touch_interval_s):
        async with bookkeeping.begin() as conn:
            await repository.touch(conn, key.id, touch_interval_s)


def authorize(key: ApiKey, needed: Role) -> None:
    """403 unless the key's role is at least `needed`."""
    if key.role_level < needed:
        raise Forbidden(f"This needs the {needed.name} role or higher; the key is a {key.role}.")


async def list_keys(session: AsyncSession, limit: int, cursor: str | None) -> Page[KeyOut]:
    """Keys oldest first, one page."""
    after = None
    if cursor:
        created_at, key_id = decode_cursor(cursor, 2)
        try:
            after = (dt.datetime.fromisoformat(created_at), uuid.UUID(key_id))
        except (TypeError, ValueError) as exc:
            raise invalid_cursor() from exc
    keys, next_cursor = await keyset_page(
        lambda n: repository.page(session, n, after),
        limit,
        lambda key: (key.created_at.isoformat(), str(key.id)),
    )
    return Page[KeyOut](items=[KeyOut.model_validate(key) for key in keys], next_cursor=next_cursor)


async def revoke_key(session: AsyncSession, key_id: uuid.UUID) -> ApiKey:
    """Revoke a key (idempotent); it stays listed with revoked_at set. The last active admin
    key is never revoked: an instance without one could not issue or revoke keys again."""
    key = await repository.get(session, key_id)
    if key is None:
        raise NotFound(f"No API key {key_id}.")
    if key.revoked_at is None and key.role == Role.admin.name:
        admins = await repository.lock_active_admins(session)
        if admins == [key.id]:
            raise Conflict(
                f"{key.name} ({key.id}) is the last active admin key; revoking it would leave "
                "no one able to manage keys. Create another admin key first.",
            )
    if key.revoked_at is None:
        key.revoked_at = dt.datetime.now(dt.UTC)
        await session.flush()
    return key


async def has_usable_key(session: AsyncSession) -> bool:
    return await repository.count_usable(session) > 0


async def ensure_admin_key(session: AsyncSession) -> str | None:
    """On a key table with no usable key, issue an admin key and return its secret."""
    if await has_usable_key(session):
        return None
    _, secret = await create_key(session, "bootstrap admin", Role.admin.name)
    return secret


async def ensure_service_key(
    session: AsyncSession, name: str, role: str = Role.analyst.name
) -> uuid.UUID:
    """The id of an unusable key named `name` (an analyst's unless told), for work done
    outside the API (the CLI on the local database), so that history still names who did
    it."""
    key = await repository.get_by_name(session, name)
    if key is None:
        key, _ = await create_key(session, name, role)
        key.revoked_at = key.created_at  # it identifies, it never authenticates
        await session.flush()
    return key.id


# Key names never change (no API renames a key) and ids are never reused, so each process
# keeps every name it has looked up: showing who did what costs no query after the first.
_names: dict[uuid.UUID, str] = {}
NAME_CACHE_SIZE = 100_000


async def key_names(session: AsyncSession, key_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The names of these keys (ids of keys that do not exist are left out)."""
    wanted = set(key_ids)
    if missing := [key_id for key_id in wanted if key_id not in _names]:
        if len(_names) > NAME_CACHE_SIZE:
            _names.clear()
        _names.update(await repository.names(session, missing))
    return {key_id: _names[key_id] for key_id in wanted if key_id in _names}


async def key_by_prefix(session: AsyncSession, prefix: str) -> uuid.UUID:
    """The id of the one key whose id starts with `prefix` (or is it); 404 or 409 otherwise."""
    wanted = prefix.strip().lower()
    if not wanted or len(wanted) > 36 or any(c not in "0123456789abcdef-" for c in wanted):
        raise NotFound(f"{prefix!r} is not a key id or the start of one.")
    found = await repository.ids_starting_with(session, wanted, limit=6)
    if not found:
        raise NotFound(f"No key id starts with {prefix!r} (incidents keys list shows them).")
    if len(found) > 1:
        count = str(len(found)) if len(found) <= 5 else "more than 5"
        shown = ", ".join(str(key_id) for key_id in found[:5])
        raise Conflict(f"{prefix!r} starts {count} key ids ({shown}): give more of it.")
    return found[0]
