-- Folds the rollup's appended deltas of each key into one row; run from time to time by the
-- background task. Returns how many rows it folded. v2: with the sums of the events' estimate
-- of fatalities (low, best, high).
CREATE OR REPLACE FUNCTION itk_rollup_compact() RETURNS bigint LANGUAGE sql AS $$
    WITH repeated AS (
        SELECT grain, bucket, date_precision, country, region_code, event_type, status FROM event_rollup GROUP BY grain, bucket, date_precision, country, region_code, event_type, status HAVING count(*) > 1
    ), moved AS (
        DELETE FROM event_rollup r USING repeated k
        WHERE (r.grain, r.bucket, r.date_precision, r.country, r.event_type, r.status)
            = (k.grain, k.bucket, k.date_precision, k.country, k.event_type, k.status)
          AND r.region_code IS NOT DISTINCT FROM k.region_code
        RETURNING r.*
    ), merged AS (
        INSERT INTO event_rollup (grain, bucket, date_precision, country, region_code, event_type, status, events, fatalities, fatalities_low, fatalities_best, fatalities_high)
        SELECT grain, bucket, date_precision, country, region_code, event_type, status, sum(events), sum(fatalities), sum(fatalities_low), sum(fatalities_best), sum(fatalities_high) FROM moved GROUP BY grain, bucket, date_precision, country, region_code, event_type, status
        HAVING sum(events) <> 0 OR sum(fatalities) <> 0 OR sum(fatalities_low) <> 0
            OR sum(fatalities_best) <> 0 OR sum(fatalities_high) <> 0
        RETURNING 1
    )
    SELECT count(*) FROM moved
$$;
