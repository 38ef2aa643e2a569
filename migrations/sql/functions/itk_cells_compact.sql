-- Folds event_cell's appended deltas of each (cell, status, country, region) into one row,
-- dropping keys left empty; run from time to time by the background task. Returns how many rows it folded.
CREATE OR REPLACE FUNCTION itk_cells_compact() RETURNS bigint LANGUAGE sql AS $$
    WITH repeated AS (
        SELECT cx, cy, status, country, region_code FROM event_cell
        GROUP BY cx, cy, status, country, region_code
        HAVING count(*) > 1 OR sum(events) = 0
    ), moved AS (
        DELETE FROM event_cell c USING repeated k
        WHERE (c.cx, c.cy, c.status, c.country) = (k.cx, k.cy, k.status, k.country)
          AND c.region_code IS NOT DISTINCT FROM k.region_code
        RETURNING c.*
    ), merged AS (
        INSERT INTO event_cell (cx, cy, status, country, region_code, events, sum_x, sum_y)
        SELECT cx, cy, status, country, region_code, sum(events), sum(sum_x), sum(sum_y)
        FROM moved GROUP BY cx, cy, status, country, region_code HAVING sum(events) <> 0
        RETURNING 1
    )
    SELECT count(*) FROM moved
$$;
