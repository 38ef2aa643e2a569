"""Dashboards' numbers: zero-filled time series, summaries and map grids, exact at once."""

import calendar
import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import UnprocessableContent
from app.core.geography import country_names
from app.events import ACLED_EVENT_TYPES, EventFilters
from app.stats import repository
from app.stats.schemas import (
    MAX_POINTS,
    MAX_TOTAL_POINTS,
    Summary,
    Total,
)


def bucket_of(day: dt.date, interval: str) -> dt.date:
    """The start of the day, ISO week (Monday) or month holding `day`."""
    if interval == "week":
        return day - dt.timedelta(days=day.weekday())
    if interval == "month":
        return day.replace(day=1)
    return day


def next_bucket(bucket: dt.date, interval: str) -> dt.date:
    if interval == "week":
        return bucket + dt.timedelta(days=7)
    if interval == "month":
        days = calendar.monthrange(bucket.year, bucket.month)[1]
        return bucket + dt.timedelta(days=days)
    return bucket + dt.timedelta(days=1)


def bucket_count(first: dt.date, last: dt.date, interval: str) -> int:
    if interval == "day":
        return (last - first).days + 1
    if interval == "week":
        return (last - first).days // 7 + 1
    return (last.year - first.year) * 12 + last.month - first.month + 1


def _figures(sums: Sequence[int]) -> dict[str, int]:
    return dict(zip(repository.MEASURES, sums, strict=True))


def _totals(
    rows: list[tuple[str | None, int, repository.Sums]], group_by: str, labels: dict[str, str]
) -> list[Total]:
    return sorted(
        (
            Total(key=key, label=_label(key, group_by, labels), count=count, **_figures(sums))
            for key, count, sums in rows
        ),
        key=lambda item: (-item.count, item.key or ""),
    )


def _too_many(points: int) -> UnprocessableContent:
    return UnprocessableContent(
        f"That is {points:,} points per series; the limit is {MAX_POINTS:,}. "
        "Use a coarser interval or a shorter date range.",
        [{"loc": ["query", "interval"], "msg": "too many points"}],
    )


async def _labels(session: AsyncSession, group_by: str | None, keys: list[str]) -> dict[str, str]:
    if group_by == "region":
        return await repository.region_names(session, keys)
    if group_by == "unit":
        return await repository.unit_names(session, keys)
    if group_by == "country":
        return country_names()
    if group_by == "event_type":
        return ACLED_EVENT_TYPES
    return {}


def _label(key: str | None, group_by: str | None, labels: dict[str, str]) -> str:
    if group_by is None:
        return "all events"
    if key is None and group_by == "side":
        return "(no side)"
    if key is None:
        return f"(no {group_by})"
    return labels.get(key, key)


async def timeseries(
    session: AsyncSession,
    filters: EventFilters,
    interval: str,
    group_by: str | None,
    kind: str = "events",
) -> bytes:
    """One zero-filled series per group, buckets from date_from to date_to exactly (or the
    data's range), weeks starting on Monday; an event counts in the bucket of its period's
    start, or in the first bucket when its period starts before date_from. `kind`
    control_changes counts the events that claim a side took control. The Timeseries
    document as JSON: the points come rendered by the database (repository.filled_series)."""
    first = bucket_of(filters.date_from, interval) if filters.date_from else None
    last = bucket_of(filters.date_to, interval) if filters.date_to else None
    if first and last and bucket_count(first, last, interval) > MAX_POINTS:
        raise _too_many(bucket_count(first, last, interval))
    query, params = repository.filled_series_query(
        filters, interval, group_by, kind, first, last, (MAX_POINTS, MAX_TOTAL_POINTS)
    )
    filled = await repository.filled_series(session, query, params)
    document: dict[str, Any] = {
        "interval": interval,
        "group_by": group_by,
        "kind": kind,
        "series": [],
    }
    if filled.first is None or filled.last is None:
        return orjson.dumps(document)
    # The series covers exactly the range asked for (or the data's): the same limits as the
    # database applied, with their explanations.
    per_series = bucket_count(filled.first, filled.last, interval)
    if per_series > MAX_POINTS:
        raise _too_many(per_series)
    points = filled.n_series * per_series
    if points > MAX_TOTAL_POINTS:
        raise UnprocessableContent(
            f"That is {filled.n_series:,} series of {per_series:,} points, "
            f"{points:,} in all; the limit is {MAX_TOTAL_POINTS:,}. Use a coarser interval, a "
            f"shorter date range, or filters that leave fewer {group_by or 'series'} values.",
            [{"loc": ["query", "group_by"], "msg": "too many points in all"}],
        )
    if filled.n_series and not filled.series:  # the database and bucket_count disagree
        raise RuntimeError(f"a {interval} series of {points} points was not filled")
    labels = await _labels(session, group_by, [key for key, _, _ in filled.series if key])
    document["series"] = [
        {"key": key, "label": _label(key, group_by, labels), "points": orjson.Fragment(json)}
        for key, _, json in sorted(filled.series, key=lambda s: (-s[1], s[0] or ""))
    ]
    return orjson.dumps(document)


async def summary(session: AsyncSession, filters: EventFilters) -> Summary:
    """Totals by status, region and event type, and the dates the events span."""
    groups: dict[str, list[Total]] = {}
    for group_by in ("status", "region", "event_type"):
        rows = await repository.totals(session, filters, group_by)
        labels = await _labels(session, group_by, [key for key, *_ in rows if key is not None])
        groups[group_by] = _totals(rows, group_by, labels)
    # Every event has one status: the statuses' totals are the whole filter's.
    by_status = groups["status"]
    figures = {name: sum(getattr(item, name) for item in by_status) for name in repository.MEASURES}
    first, last = await repository.date_range(session, filters)
    by_side = await repository.totals(session, filters, "side", "control_changes")
    return Summary(
        total=sum(item.count for item in by_status),
        **figures,
        first_date=first,
        last_date=last,
        by_status=groups["status"],
        by_region=groups["region"],
        by_event_type=groups["event_type"],
        control_changes=sum(count for _, count, _ in by_side),
        control_changes_by_side=_totals(by_side, "side", {}),
    )


async def etag(session: AsyncSession, query: list[tuple[str, str]]) -> tuple[str, bool]:
    """The ETag, which changes whenever any event changes, or the question does; and whether
    the answer may be kept under it (repository.data_version)."""
    version, keepable = await repository.data_version(session)
    # 128 bits: tags key the answers kept for every asker, so no two questions may share one.
    asked = hashlib.sha256(repr(sorted(query)).encode()).hexdigest()[:32]
    return f'W/"{version}-{asked}"', keepable


async def grid(session: AsyncSession, filters: EventFilters, cell_km: float) -> dict[str, Any]:
    """Counts per map cell (about cell_km on a side) as a GeoJSON FeatureCollection."""
    step = cell_km / 111.32
    cells = await repository.grid_cells(session, filters, step)
    features = []
    for row, column, band_step, count, dead in cells:
        south, west = row * step, column * band_step
        north, east = south + step, west + band_step
        features.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [[west, south], [east, south], [east, north], [west, north], [west, south]]
                    ],
                },
                "properties": {"count": count, "fatalities": dead},
            }
        )
    return {"type": "FeatureCollection", "features": features}
