-- event_cell follows event: each statement appends signed deltas of its located, live events
-- per (zoom 14 cell, status, country, region), with the sums of their zoom 24 positions (for
-- a cluster's centre). Appending, not upserting, as the stats rollup does: writers never wait on each
-- other's rows; readers sum the deltas and itk_cells_compact() folds them from time to time.
-- An UPDATE counts only the rows whose place, region, status or deletion changed.
CREATE OR REPLACE FUNCTION itk_cells_follow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO event_cell (cx, cy, status, country, region_code, events, sum_x, sum_y)
        SELECT d.mx >> 10, d.my >> 10, d.status, d.country, d.region_code,
               count(*), sum(d.mx), sum(d.my)
        FROM (SELECT itk_mercator_column(lon) AS mx, itk_mercator_row(lat) AS my, status,
                     country, region_code
              FROM new_rows WHERE deleted_at IS NULL AND lat IS NOT NULL) d
        GROUP BY 1, 2, 3, 4, 5;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO event_cell (cx, cy, status, country, region_code, events, sum_x, sum_y)
        SELECT d.mx >> 10, d.my >> 10, d.status, d.country, d.region_code,
               -count(*), -sum(d.mx), -sum(d.my)
        FROM (SELECT itk_mercator_column(lon) AS mx, itk_mercator_row(lat) AS my, status,
                     country, region_code
              FROM old_rows WHERE deleted_at IS NULL AND lat IS NOT NULL) d
        GROUP BY 1, 2, 3, 4, 5;
    ELSE
        INSERT INTO event_cell (cx, cy, status, country, region_code, events, sum_x, sum_y)
        SELECT d.mx >> 10, d.my >> 10, d.status, d.country, d.region_code,
               sum(d.sign), sum(d.sign * d.mx), sum(d.sign * d.my)
        FROM (
            SELECT itk_mercator_column(r.lon) AS mx, itk_mercator_row(r.lat) AS my, r.status,
                   r.country, r.region_code, r.sign
            FROM old_rows o JOIN new_rows n ON n.id = o.id
            CROSS JOIN LATERAL (
                VALUES (o.lat, o.lon, o.status, o.country, o.region_code, o.deleted_at, -1),
                       (n.lat, n.lon, n.status, n.country, n.region_code, n.deleted_at, 1)
            ) AS r(lat, lon, status, country, region_code, deleted_at, sign)
            WHERE (o.lat, o.lon, o.status, o.country, o.region_code, o.deleted_at IS NULL)
                  IS DISTINCT FROM
                  (n.lat, n.lon, n.status, n.country, n.region_code, n.deleted_at IS NULL)
              AND r.deleted_at IS NULL AND r.lat IS NOT NULL
        ) d
        GROUP BY 1, 2, 3, 4, 5
        HAVING sum(d.sign) <> 0 OR sum(d.sign * d.mx) <> 0 OR sum(d.sign * d.my) <> 0;
    END IF;
    RETURN NULL;
END $$;
