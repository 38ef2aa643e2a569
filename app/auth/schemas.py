import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict

from app.core.text import ShortText, in_utc

RoleName = Literal["reader", "analyst", "verifier", "admin"]


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: ShortText
    role: RoleName
    # In UTC (a time whose UTC instant leaves the calendar is a 422).
    expires_at: Annotated[AwareDatetime, AfterValidator(in_utc)] | None = None


class KeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    role: RoleName
    prefix: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None


class KeyCreated(BaseModel):
    """The one response that carries the secret."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    role: RoleName
    prefix: str
    secret: str
    expires_at: dt.datetime | None
    created_at: dt.datetime
