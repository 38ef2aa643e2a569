"""The box around a near=lat,lon + radius_km circle (app/core/geography.circle_bounds): every
point within the radius on earthdistance's sphere is inside it, across the antimeridian and
around the poles too, and it is no wider than the circle needs."""

import math

from hypothesis import given
from hypothesis import strategies as st

from app.core.geography import EARTH_RADIUS_M, circle_bounds
from tests.unit.properties import PROPERTY


def _destination(lat: float, lon: float, bearing: float, metres: float) -> tuple[float, float]:
    """The point `metres` from (lat, lon) along `bearing` (degrees) on the same sphere."""
    phi, lam, theta = math.radians(lat), math.radians(lon), math.radians(bearing)
    angle = metres / EARTH_RADIUS_M
    phi2 = math.asin(
        math.sin(phi) * math.cos(angle) + math.cos(phi) * math.sin(angle) * math.cos(theta)
    )
    lam2 = lam + math.atan2(
        math.sin(theta) * math.sin(angle) * math.cos(phi),
        math.cos(angle) - math.sin(phi) * math.sin(phi2),
    )
    return math.degrees(phi2), (math.degrees(lam2) + 540) % 360 - 180


def _inside(point: tuple[float, float], bounds: tuple[float, float, list[tuple[float, float]]]):
    lat, lon = point
    south, north, lon_ranges = bounds
    in_lon = not lon_ranges or any(west <= lon <= east for west, east in lon_ranges)
    return south <= lat <= north and in_lon


@PROPERTY
@given(
    lat=st.floats(-90, 90),
    lon=st.floats(-180, 180),
    radius_km=st.floats(0.001, 2000),
    bearing=st.floats(0, 360),
    share=st.floats(0, 1),
)
def test_every_point_within_the_radius_is_inside(
    lat: float, lon: float, radius_km: float, bearing: float, share: float
) -> None:
    bounds = circle_bounds(lat, lon, radius_km * 1000)
    point = _destination(lat, lon, bearing, radius_km * 1000 * share)
    assert _inside(point, bounds), (point, bounds)
    south, north, lon_ranges = bounds
    assert -90 <= south <= north <= 90
    assert all(-180 <= west <= east <= 180 for west, east in lon_ranges)


def test_across_the_antimeridian_two_ranges() -> None:
    south, north, lon_ranges = circle_bounds(65.0, 179.9, 50_000)
    assert lon_ranges[0][1] == 180.0
    assert lon_ranges[1][0] == -180.0
    assert _inside((65.0, -179.5), (south, north, lon_ranges))
    assert not _inside((65.0, 0.0), (south, north, lon_ranges))


def test_a_circle_around_a_pole_has_no_longitude_bound() -> None:
    south, north, lon_ranges = circle_bounds(89.9, 10.0, 50_000)
    assert (north, lon_ranges) == (90.0, [])
    assert _inside((89.95, -170.0), (south, north, lon_ranges))


def test_the_box_is_as_tight_as_the_circle() -> None:
    # 15 km around Belgorod: 15 km of latitude is 0.1348 degrees on this sphere.
    south, north, [(west, east)] = circle_bounds(50.6, 36.6, 15_000)
    assert math.isclose(50.6 - south, north - 50.6)
    assert math.isclose(36.6 - west, east - 36.6)
    assert math.isclose(north - 50.6, 15_000 / EARTH_RADIUS_M * 180 / math.pi, rel_tol=1e-6)
    east_point = _destination(50.6, 36.6, 90, 15_000)
    assert east_point[1] < east < east_point[1] + 0.01
