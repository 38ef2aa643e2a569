-- The row of itk_mercator_column's grid: from the north, latitudes clamped to ±85.0511°.
CREATE OR REPLACE FUNCTION itk_mercator_row(lat double precision) RETURNS bigint
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN least(greatest(floor(
        (1.0 - asinh(tan(radians(least(greatest(lat, -85.0511287798), 85.0511287798)))) / pi())
        / 2.0 * 16777216.0), 0), 16777215)::bigint;
