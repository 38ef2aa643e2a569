import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import Text, bindparam, cast, func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.auth.models import ApiKey

# Every request runs it: built once, with the hash as a parameter.
BY_SECRET_HASH = select(ApiKey).where(ApiKey.secret_sha256 == bindparam("secret_sha256"))


async def get_by_secret_hash(session: AsyncSession, secret_sha256: bytes) -> ApiKey | None:
    """The key whose secret hashes to secret_sha256, if any."""
    result = await session.execute(BY_SECRET_HASH, {"secret_sha256": secret_sha256})
    return result.scalar_one_or_none()


async def get(session: AsyncSession, key_id: uuid.UUID) -> ApiKey | None:
    """One key by id."""
    return await session.get(ApiKey, key_id)


async def add(session: AsyncSession, key: ApiKey) -> ApiKey:
    """Insert a key; server defaults are loaded back."""
    session.add(key)
    await session.flush()
    await session.refresh(key)
    return key


# A key that authenticates: neither revoked nor expired.
USABLE = (
    ApiKey.revoked_at.is_(None),
    (ApiKey.expires_at.is_(None)) | (ApiKey.expires_at > func.now()),
)


async def count_usable(session: AsyncSession) -> int:
    """Keys neither revoked nor expired."""
    result = await session.execute(select(func.count()).select_from(ApiKey).where(*USABLE))
    return int(result.scalar_one())


async def page(
    session: AsyncSession, limit: int, after: tuple[dt.datetime, uuid.UUID] | None
) -> list[ApiKey]:
    """Keys oldest first, keyset-paginated on (created_at, id)."""
    query = select(ApiKey).order_by(ApiKey.created_at, ApiKey.id).limit(limit)
    if after is not None:
        query = query.where(tuple_(ApiKey.created_at, ApiKey.id) > tuple_(*after))
    return list((await session.execute(query)).scalars())


async def touch(conn: AsyncConnection, key_id: uuid.UUID, interval_s: int) -> None:
    """Record use, at most once per interval, so reads do not all become writes; a row
    another transaction holds is skipped (SKIP LOCKED), never waited for."""
    due = (
        select(ApiKey.id)
        .where(
            ApiKey.id == key_id,
            (ApiKey.last_used_at.is_(None))
            | (ApiKey.last_used_at < func.now() - dt.timedelta(seconds=interval_s)),
        )
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    await conn.execute(update(ApiKey).where(ApiKey.id == due).values(last_used_at=func.now()))


async def get_by_name(session: AsyncSession, name: str) -> ApiKey | None:
    """The oldest key with this name."""
    result = await session.execute(
        select(ApiKey).where(ApiKey.name == name).order_by(ApiKey.created_at).limit(1)
    )
    return result.scalar_one_or_none()


async def names(session: AsyncSession, key_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Key names by id."""
    result = await session.execute(select(ApiKey.id, ApiKey.name).where(ApiKey.id.in_(key_ids)))
    return {row[0]: row[1] for row in result}


async def lock_active_admins(session: AsyncSession) -> list[uuid.UUID]:
    """Row-lock every admin key neither revoked nor expired (in id order), and return their ids:
    two admins revoking each other at once cannot both pass a check on the other."""
    result = await session.execute(
        select(ApiKey.id)
        .where(ApiKey.role == "admin", *USABLE)
        .order_by(ApiKey.id)
        .with_for_update()
    )
    return list(result.scalars())


async def ids_starting_with(session: AsyncSession, prefix: str, limit: int) -> list[uuid.UUID]:
    """Key ids whose text starts with prefix (lower-case hex and dashes), a few at most."""
    result = await session.execute(
        select(ApiKey.id)
        .where(cast(ApiKey.id, Text).startswith(prefix, autoescape=True))
        .order_by(ApiKey.id)
        .limit(limit)
    )
    return list(result.scalars())
