-- Web Mercator (EPSG:3857) position of a longitude and latitude as integers on a 2^24 grid,
-- the tile zoom 24 pixel: column from the west, row from the north (latitudes clamped to
-- ±85.0511°, the square world of map tiles). A tile (z, x, y) holds the positions whose
-- column >> (24 - z) is x and row >> (24 - z) is y, so every event is in exactly one tile.
CREATE OR REPLACE FUNCTION itk_mercator_column(lon double precision) RETURNS bigint
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN least(greatest(floor((lon + 180.0) / 360.0 * 16777216.0), 0), 16777215)::bigint;
