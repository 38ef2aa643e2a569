-- Folds the rollup's appended deltas of each key into one row; run from time to time by the
-- background task. Returns how many rows it folded. v3: each key with deltas not yet folded
-- (folded false, as the triggers append them) is folded into one row marked folded, and those
-- deltas are added to event_rollup_area (the rollup summed over type and status), in the
-- same statement: a reader sums event_rollup_area and the unfolded deltas, and sees either
-- every change this makes or none.
CREATE OR REPLACE FUNCTION itk_rollup_compact() RETURNS bigint LANGUAGE sql AS $$
    WITH touched AS (
        SELECT DISTINCT grain, bucket, date_precision, country, region_code, event_type, status
        FROM event_rollup WHERE NOT folded
    ), moved AS (
        DELETE FROM event_rollup r USING touched k
        WHERE (r.grain, r.bucket, r.date_precision, r.country, r.event_type, r.status)
            = (k.grain, k.bucket, k.date_precision, k.country, k.event_type, k.status)
          AND r.region_code IS NOT DISTINCT FROM k.region_code
        RETURNING r.*
    ), merged AS (
        INSERT INTO event_rollup (grain, bucket, date_precision, country, region_code, event_type, status, events, fatalities, fatalities_low, fatalities_best, fatalities_high, folded)
        SELECT grain, bucket, date_precision, country, region_code, event_type, status, sum(events), sum(fatalities), sum(fatalities_low), sum(fatalities_best), sum(fatalities_high), true FROM moved GROUP BY grain, bucket, date_precision, country, region_code, event_type, status
        HAVING sum(events) <> 0 OR sum(fatalities) <> 0 OR sum(fatalities_low) <> 0
            OR sum(fatalities_best) <> 0 OR sum(fatalities_high) <> 0
        RETURNING 1
    ), area AS (
        INSERT INTO event_rollup_area AS a (grain, bucket, date_precision, country, region_code, events, fatalities, fatalities_low, fatalities_best, fatalities_high)
        SELECT grain, bucket, date_precision, country, region_code, sum(events), sum(fatalities), sum(fatalities_low), sum(fatalities_best), sum(fatalities_high) FROM moved WHERE NOT folded GROUP BY grain, bucket, date_precision, country, region_code
        ON CONFLICT (grain, bucket, date_precision, country, region_code) DO UPDATE SET
            events = a.events + excluded.events, fatalities = a.fatalities + excluded.fatalities,
            fatalities_low = a.fatalities_low + excluded.fatalities_low,
            fatalities_best = a.fatalities_best + excluded.fatalities_best,
            fatalities_high = a.fatalities_high + excluded.fatalities_high
        RETURNING 1
    )
    SELECT count(*) FROM moved
$$;
