import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from app.events import EventFilters

Interval = Literal["day", "week", "month"]
GroupBy = Literal["region", "country", "event_type", "status", "unit"]
MAX_POINTS = 10_000
# Across all series of one answer (a series per unit over years of days is millions).
MAX_TOTAL_POINTS = 100_000


class TimeseriesParams(EventFilters):
    interval: Interval = "week"
    group_by: GroupBy | None = None


class GridParams(EventFilters):
    cell_km: Annotated[float, Field(ge=1, le=500)] = 25.0


class Point(BaseModel):
    t: dt.date
    count: int
    fatalities: int


class Series(BaseModel):
    key: str | None
    label: str
    points: list[Point]


class Timeseries(BaseModel):
    interval: Interval
    group_by: GroupBy | None
    series: list[Series]


class Total(BaseModel):
    key: str | None
    label: str
    count: int
    fatalities: int


class Summary(BaseModel):
    total: int
    fatalities: int
    first_date: dt.date | None
    last_date: dt.date | None
    by_status: list[Total]
    by_region: list[Total]
    by_event_type: list[Total]
