-- The rollup follows event: each DELETE appends a signed delta per day, week and month
-- bucket. Appending, not upserting: writers never wait on each other's counter rows, so a long
-- import does not hold up a POST on the same day; queries sum the deltas, and
-- itk_rollup_compact() folds them together from time to time. v2: with the sums of the events'
-- estimate of fatalities (low, best, high).
CREATE OR REPLACE FUNCTION itk_rollup_delete() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN 
    INSERT INTO event_rollup (grain, bucket, date_precision, country, region_code, event_type, status, events, fatalities, fatalities_low, fatalities_best, fatalities_high)
    SELECT g.grain, date_trunc(g.grain, d.event_date)::date,
           -- Only day rows need the precision (to clip events at a range's edges).
           CASE g.grain WHEN 'day' THEN d.date_precision ELSE '' END, d.country,
           d.region_code, d.event_type, d.status,
           sum(d.sign), sum(d.sign * coalesce(d.fatalities, 0)),
           sum(d.sign * coalesce(d.fatalities_low, 0)), sum(d.sign * coalesce(d.fatalities_best, 0)),
           sum(d.sign * coalesce(d.fatalities_high, 0))
    FROM (SELECT event_date, date_precision, country, region_code, event_type, status, fatalities, fatalities_low, fatalities_best, fatalities_high, -1 AS sign FROM old_rows WHERE deleted_at IS NULL) d CROSS JOIN (VALUES ('day'), ('week'), ('month')) AS g(grain)
    GROUP BY 1, 2, 3, 4, 5, 6, 7
    HAVING sum(d.sign) <> 0 OR sum(d.sign * coalesce(d.fatalities, 0)) <> 0
        OR sum(d.sign * coalesce(d.fatalities_low, 0)) <> 0
        OR sum(d.sign * coalesce(d.fatalities_best, 0)) <> 0
        OR sum(d.sign * coalesce(d.fatalities_high, 0)) <> 0
    ; RETURN NULL; END $$;
