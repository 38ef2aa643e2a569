import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel

from app.events import EventOut


class ChangeOut(BaseModel):
    cursor: str
    op: Literal["upsert", "delete"]
    event_id: uuid.UUID
    event: EventOut | None
    committed_at: dt.datetime


class ChangePage(BaseModel):
    items: list[ChangeOut]
    next_cursor: str
