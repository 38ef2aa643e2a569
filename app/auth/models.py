import datetime as dt
import enum
import uuid

from sqlalchemy import CheckConstraint, ForeignKey, Integer, LargeBinary, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import Base, created_at_column, uuid_pk


class Role(enum.IntEnum):
    """Roles in order of power: each one may do what the ones below it may."""

    reader = 1
    analyst = 2
    verifier = 3
    admin = 4


ROLE_NAMES = tuple(role.name for role in Role)


class ApiKey(Base):
    __tablename__ = "api_key"
    __table_args__ = (CheckConstraint(f"role IN {ROLE_NAMES!r}", name="role"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(Text)
    # The first characters of the secret, to recognise a key in lists and logs.
    prefix: Mapped[str] = mapped_column(Text)
    secret_sha256: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    created_at: Mapped[dt.datetime] = created_at_column()
    expires_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
    last_used_at: Mapped[dt.datetime | None]

    @property
    def role_level(self) -> Role:
        return Role[self.role]

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= dt.datetime.now(dt.UTC)

    @property
    def usable(self) -> bool:
        """Neither revoked nor expired: what authenticates (repository.USABLE in SQL)."""
        return self.revoked_at is None and not self.expired


class RateWindow(Base):
    """Requests per key per minute, for INCIDENTS_RATE_LIMIT_PER_MINUTE: in the database, so
    the limit holds across workers and machines."""

    __tablename__ = "rate_window"

    api_key_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("api_key.id", ondelete="CASCADE"), primary_key=True
    )
    window_start: Mapped[dt.datetime] = mapped_column(primary_key=True)
    requests: Mapped[int] = mapped_column(Integer)
