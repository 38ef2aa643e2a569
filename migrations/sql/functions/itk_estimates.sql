-- An event's estimate of each figure from its sources' claims (docs/figures.md; the same rule
-- as app/events/estimates.py, checked against it by tests/events/test_documents.py).
-- `claims` is a JSON array of {"figures": {…}, "graded": bool}, one per source that gives
-- figures. Per figure: low, high and the number of sources from the graded claims (Admiralty
-- C3 or better) when there are any, else from all; best is the event's own recorded figure
-- (fatalities, civilian_fatalities) when it has one, else the lower median of those claims.
-- A source's fatalities are its total, or its sides' sum when it gives only those.
CREATE OR REPLACE FUNCTION itk_estimates(
    claims jsonb, fatalities integer, civilian_fatalities integer
) RETURNS json LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT json_object_agg(f.name, CASE
        WHEN e.sources = 0 AND f.recorded IS NULL THEN NULL
        WHEN e.sources = 0 THEN json_build_object(
            'low', f.recorded, 'best', f.recorded, 'high', f.recorded, 'sources', 0,
            'basis', 'recorded')
        ELSE json_build_object(
            'low', e.low, 'best', coalesce(f.recorded, e.median), 'high', e.high,
            'sources', e.sources,
            'basis', CASE WHEN f.recorded IS NOT NULL THEN 'recorded'
                          WHEN e.graded THEN 'graded' ELSE 'ungraded' END)
    END ORDER BY f.position)
FROM (VALUES (1, 'fatalities', fatalities), (2, 'civilian_fatalities', civilian_fatalities),
             (3, 'wounded', NULL::integer), (4, 'captured', NULL::integer))
     AS f(position, name, recorded)
CROSS JOIN LATERAL (
    WITH given AS (
        SELECT CASE f.name
                   WHEN 'fatalities' THEN coalesce(
                       (c -> 'figures' ->> 'fatalities')::integer,
                       (SELECT sum(side.value::integer)
                        FROM jsonb_each_text(c -> 'figures' -> 'fatalities_by_side') side
                       )::integer)
                   ELSE (c -> 'figures' ->> f.name)::integer
               END AS value,
               (c ->> 'graded')::boolean AS graded
        FROM jsonb_array_elements(coalesce(claims, '[]'::jsonb)) c
    ), counted AS (
        SELECT value, graded FROM given
        WHERE value IS NOT NULL
          AND graded = (SELECT coalesce(bool_or(graded), false) FROM given
                        WHERE value IS NOT NULL)
    )
    SELECT min(value) AS low, max(value) AS high, count(*) AS sources,
           percentile_disc(0.5) WITHIN GROUP (ORDER BY value) AS median,
           coalesce(bool_or(graded), false) AS graded
    FROM counted
) e
$$;
