-- Whether the sources' figures are disputed (docs/figures.md; the same rule as
-- app/events/estimates.py figures_disputed): for any figure, the largest claim is more than
-- twice the smallest, a smallest of 0 counting as 1. Every claim counts, graded or not.
-- `claims` is the JSON array itk_estimates reads ({"figures": {…}, "graded": bool} per
-- source giving figures); a source's fatalities are its total, or its sides' sum.
CREATE OR REPLACE FUNCTION itk_figures_disputed(claims jsonb)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT coalesce(bool_or(spread.high > 2 * greatest(spread.low, 1)), false)
FROM (VALUES ('fatalities'), ('civilian_fatalities'), ('wounded'), ('captured')) AS f(name)
CROSS JOIN LATERAL (
    SELECT min(given.value) AS low, max(given.value) AS high
    FROM (
        SELECT CASE f.name
                   WHEN 'fatalities' THEN coalesce(
                       (c -> 'figures' ->> 'fatalities')::integer,
                       (SELECT sum(side.value::integer)
                        FROM jsonb_each_text(c -> 'figures' -> 'fatalities_by_side') side
                       )::integer)
                   ELSE (c -> 'figures' ->> f.name)::integer
               END AS value
        FROM jsonb_array_elements(coalesce(claims, '[]'::jsonb)) c
    ) given
    WHERE given.value IS NOT NULL
) spread
$$;
