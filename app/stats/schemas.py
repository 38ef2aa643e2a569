import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from app.events import EventFilters

Interval = Literal["day", "week", "month"]
GroupBy = Literal["region", "country", "event_type", "status", "unit", "side"]
# What a series counts: events, or changes of control (events whose control claim says a
# side took the place: outcome `taken`), which can also be grouped by the side that took it.
Kind = Literal["events", "control_changes"]
MAX_POINTS = 10_000
# Across all series of one answer (a series per unit over years of days is millions).
MAX_TOTAL_POINTS = 100_000


class TimeseriesParams(EventFilters):
    interval: Interval = "week"
    group_by: GroupBy | None = None
    kind: Kind = "events"

    @model_validator(mode="after")
    def _side_needs_control(self) -> "TimeseriesParams":
        if self.group_by == "side" and self.kind != "control_changes":
            raise ValueError("group_by=side counts changes of control: add kind=control_changes")
        return self


class GridParams(EventFilters):
    cell_km: Annotated[float, Field(ge=1, le=500)] = 25.0


class Figures(BaseModel):
    """Sums over events: their recorded fatalities, and their estimate of fatalities from the
    sources' claims (docs/figures.md): the lows, the bests and the highs."""

    fatalities: int
    fatalities_low: int = 0
    fatalities_best: int = 0
    fatalities_high: int = 0


class Point(Figures):
    t: dt.date
    count: int


class Series(BaseModel):
    key: str | None
    label: str
    points: list[Point]


class Timeseries(BaseModel):
    interval: Interval
    group_by: GroupBy | None
    kind: Kind = "events"
    series: list[Series]


class Total(Figures):
    key: str | None
    label: str
    count: int


class Summary(Figures):
    total: int
    first_date: dt.date | None
    last_date: dt.date | None
    by_status: list[Total]
    by_region: list[Total]
    by_event_type: list[Total]
    # Events whose control claim says a side took the place(s), by the side that took it.
    control_changes: int
    control_changes_by_side: list[Total]
