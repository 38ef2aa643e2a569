"""Tile arithmetic on the Web Mercator grid the database uses (itk_mercator_column/row): a
position is a column and a row of the 2^24 grid (tile zoom 24 pixels), a tile (z, x, y) holds
the positions whose column >> (24 - z) is x and row >> (24 - z) is y."""

import math
from dataclasses import dataclass

GRID_LEVEL = 24
# The deepest zoom served (a tile then spans 4 grid positions).
MAX_ZOOM = 22
# Tile coordinates (MVT extent) and the cluster grid: 2^3 x 2^3 cells a tile.
EXTENT = 4096
CLUSTER_LEVELS = 3
# The cell grid of the rollup (event_cell): zoom 14, answering tiles up to zoom 14 - 3.
CELL_LEVEL = 14
ROLLUP_MAX_ZOOM = CELL_LEVEL - CLUSTER_LEVELS
# From this zoom each event is a point of its own (when the tile has at most POINT_LIMIT).
POINT_ZOOM = 12
POINT_LIMIT = 2000
# Float bounds are widened by this much; the integer grid decides.
MARGIN_DEGREES = 1e-7


def _lon(column: int, level: int) -> float:
    return column / (1 << level) * 360.0 - 180.0


def _lat(row: int, level: int) -> float:
    return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / (1 << level)))))


@dataclass(frozen=True)
class Span:
    """A square of the grid at some level: grid columns and rows [x, x+1) and [y, y+1)."""

    level: int
    x: int
    y: int

    @property
    def shift(self) -> int:
        """Bits between this level and the 2^24 grid."""
        return GRID_LEVEL - self.level

    def bounds(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) in degrees, widened a little; the edge rows reach the
        poles (positions are clamped to ±85.05° as the database clamps them)."""
        last = (1 << self.level) - 1
        west, east = _lon(self.x, self.level), _lon(self.x + 1, self.level)
        north = 90.0 if self.y == 0 else _lat(self.y, self.level)
        south = -90.0 if self.y == last else _lat(self.y + 1, self.level)
        return (
            west - MARGIN_DEGREES,
            south - MARGIN_DEGREES,
            east + MARGIN_DEGREES,
            north + MARGIN_DEGREES,
        )


@dataclass(frozen=True)
class Tile(Span):
    @property
    def cluster_level(self) -> int:
        """The level of the cells its clusters are made of."""
        return min(self.level + CLUSTER_LEVELS, GRID_LEVEL)

    def position(self, column: float, row: float) -> tuple[int, int]:
        """A 2^24 grid position in this tile's coordinates (0 to EXTENT, y down)."""
        scale = EXTENT / (1 << self.shift)
        left, top = self.x << self.shift, self.y << self.shift
        return (
            min(max(round((column - left) * scale), 0), EXTENT - 1),
            min(max(round((row - top) * scale), 0), EXTENT - 1),
        )

    def expansion_zoom(self, low: tuple[int, int], high: tuple[int, int], precision: int) -> int:
        """The zoom at which a cluster whose positions span from `low` to `high` (2^24 grid
        columns and rows, known to `precision` levels) falls into more than one cluster; at
        most POINT_ZOOM when this tile is below it (every event is a point there)."""
        for level in range(self.cluster_level + 1, precision + 1):
            shift = GRID_LEVEL - level
            if (low[0] >> shift, low[1] >> shift) != (high[0] >> shift, high[1] >> shift):
                zoom = level - CLUSTER_LEVELS
                return min(zoom, POINT_ZOOM) if self.level < POINT_ZOOM else zoom
        return POINT_ZOOM if self.level < POINT_ZOOM else min(self.level + 1, MAX_ZOOM)
