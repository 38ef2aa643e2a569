-- Folds event_cell's appended deltas of each (cell, status) into one row, dropping cells left
-- empty; run from time to time by the background task. Returns how many rows it folded.
CREATE OR REPLACE FUNCTION itk_cells_compact() RETURNS bigint LANGUAGE sql AS $$
    WITH repeated AS (
        SELECT cx, cy, status FROM event_cell GROUP BY cx, cy, status
        HAVING count(*) > 1 OR sum(events) = 0
    ), moved AS (
        DELETE FROM event_cell c USING repeated k
        WHERE (c.cx, c.cy, c.status) = (k.cx, k.cy, k.status)
        RETURNING c.*
    ), merged AS (
        INSERT INTO event_cell (cx, cy, status, events, sum_x, sum_y)
        SELECT cx, cy, status, sum(events), sum(sum_x), sum(sum_y) FROM moved
        GROUP BY cx, cy, status HAVING sum(events) <> 0
        RETURNING 1
    )
    SELECT count(*) FROM moved
$$;
