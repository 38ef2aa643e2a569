-- The control map's states (docs/control.md; the rule of app/control/ledger.py, for many
-- places at once): for each basis (claims: claimed, verified and disputed events; verified:
-- verified ones) and each date a counted claim of the place is dated, the state from that day
-- to the next such date: the claims whose windows reach it (dated at most 30 days earlier,
-- the longest period, and ending on it or later) give the sides, one (held) or several
-- (contested). Each state carries the place's GeoJSON Feature, rendered here. Called with the
-- places whose claims or gazetteer entry changed: their states are replaced.
CREATE OR REPLACE FUNCTION itk_control_states(places uuid[]) RETURNS void LANGUAGE sql AS $$
DELETE FROM control_state WHERE place_id = ANY(places);
INSERT INTO control_state (basis, place_id, since, valid, lon, lat, country, region_code,
                           feature)
WITH bases(basis, statuses) AS (
    VALUES ('claims', ARRAY['claimed', 'verified', 'disputed']), ('verified', ARRAY['verified'])
), changes AS (
    SELECT DISTINCT b.basis, b.statuses, c.place_id, c.event_date AS latest
    FROM control_claim c JOIN bases b ON c.status = ANY(b.statuses)
    WHERE c.place_id = ANY(places)
), states AS (
    SELECT ch.basis, ch.place_id, ch.latest,
           lead(ch.latest) OVER (PARTITION BY ch.basis, ch.place_id ORDER BY ch.latest) AS next,
           h.sides, h.events
    FROM changes ch CROSS JOIN LATERAL (
        SELECT array_agg(DISTINCT c.side ORDER BY c.side) AS sides,
               array_agg(DISTINCT c.event_id ORDER BY c.event_id) AS events
        FROM control_claim c
        WHERE c.place_id = ch.place_id AND c.status = ANY(ch.statuses)
          AND c.event_date BETWEEN ch.latest - 30 AND ch.latest AND c.event_date_end >= ch.latest
    ) h
)
SELECT s.basis, s.place_id, s.latest, daterange(s.latest, s.next), p.lon, p.lat, p.country,
       p.region_code,
       '{"type":"Feature","id":"' || p.id || '","geometry":{"type":"Point","coordinates":['
       || p.lon || ',' || p.lat || ']},"properties":{"place_id":"' || p.id
       || '","name":' || to_json(p.name) || ',"country":' || to_json(p.country)
       || ',"region_code":' || coalesce(to_json(p.region_code)::text, 'null')
       || ',"state":"' || CASE WHEN cardinality(s.sides) = 1 THEN 'held' ELSE 'contested' END
       || '","sides":' || to_json(s.sides) || ',"latest_claim":"'
       || to_char(s.latest, 'YYYY-MM-DD') || '","events":' || to_json(s.events) || '}}'
FROM states s JOIN place p ON p.id = s.place_id;
$$;
