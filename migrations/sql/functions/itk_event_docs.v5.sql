-- Rendered from app/events/fields.py by `python -m migrations.sql render`: edit the vocabulary
-- there, then load the new version file from a new migration (migrations/README.md).
CREATE OR REPLACE FUNCTION itk_event_docs(ids uuid[], dates date[])
RETURNS TABLE (id uuid, version integer, updated_at timestamptz)
LANGUAGE sql VOLATILE
AS $$
UPDATE event SET doc = (json_build_object(
    'id', event.id,
    'status', event.status,
    'confidence', event.confidence,
    'event_date', event.event_date,
    'date_precision', event.date_precision,
    'event_type', event.event_type,
    'sub_event_type', event.sub_event_type,
    'country', event.country,
    'region_code', event.region_code,
    'region', (SELECT json_build_object('code', r.code, 'name', r.name) FROM region r WHERE r.code = event.region_code),
    'place_id', event.place_id,
    'place', (SELECT json_build_object('id', p.id, 'name', p.name) FROM place p WHERE p.id = event.place_id),
    'location_name', event.location_name,
    'lat', event.lat,
    'lon', event.lon,
    'geo_precision', event.geo_precision,
    'units', coalesce((
        SELECT json_agg(json_build_object('id', u.id, 'name', u.name, 'side', u.side, 'role', eu.role) ORDER BY eu.position)
        FROM event_unit eu JOIN unit u ON u.id = eu.unit_id WHERE eu.event_id = event.id AND eu.event_date = event.event_date), '[]'::json),
    'sources', coalesce((
        SELECT json_agg(json_build_object(
            'id', s.id, 'source_name', s.source_name, 'url', s.url,
            'published_at', itk_rfc3339(s.published_at), 'stance', s.stance,
            'excerpt', s.excerpt, 'reliability', s.reliability, 'credibility', s.credibility,
            'language', s.language, 'figures', s.figures, 'added_by', s.added_by,
            'added_by_name', (SELECT k.name FROM api_key k WHERE k.id = s.added_by),
            'added_at', itk_rfc3339(s.added_at)) ORDER BY s.seq)
        FROM source_report s WHERE s.event_id = event.id AND s.event_date = event.event_date), '[]'::json),
    'fatalities', event.fatalities,
    'civilian_fatalities', event.civilian_fatalities,
    'estimates', written.estimates,
    'figures_disputed', written.disputed,
    'summary', event.summary,
    'tags', event.tags,
    'control', event.control,
    'relations', coalesce((
        SELECT json_agg(json_build_object('id', rel.id, 'kind', rel.kind,
                                          'event_id', rel.event_id) ORDER BY rel.seq)
        FROM (SELECT r.seq, r.id, r.note, r.created_by, r.created_at, r.event_id AS read_by, r.kind, r.other_id AS event_id
        FROM event_relation r WHERE r.event_id = event.id
        UNION ALL
        SELECT r.seq, r.id, r.note, r.created_by, r.created_at, r.other_id, CASE r.kind WHEN 'retakes' THEN 'retaken_by' WHEN 'responds_to' THEN 'responded_to_by' WHEN 'part_of' THEN 'has_part' ELSE r.kind END, r.event_id
        FROM event_relation r WHERE r.other_id = event.id) rel), '[]'::json),
    'external_id', event.external_id,
    'external_source', event.external_source,
    'created_at', itk_rfc3339(event.created_at),
    'created_by', event.created_by,
    'created_by_name', (SELECT k.name FROM api_key k WHERE k.id = event.created_by),
    'updated_at', itk_rfc3339(event.updated_at),
    'updated_by', event.updated_by,
    'updated_by_name', (SELECT k.name FROM api_key k WHERE k.id = event.updated_by),
    'version', event.version,
    'deleted_at', itk_rfc3339(event.deleted_at)
))::text, doc_csv = itk_csv_field((event.id)::text) || ',' || itk_csv_field((event.event_date)::text) || ',' || itk_csv_field((event.date_precision)::text) || ',' || itk_csv_field((event.event_type)::text) || ',' || itk_csv_field((event.sub_event_type)::text) || ',' || itk_csv_field((event.status)::text) || ',' || itk_csv_field((event.confidence)::text) || ',' || itk_csv_field((event.country)::text) || ',' || itk_csv_field((event.region_code)::text) || ',' || itk_csv_field(((SELECT r.name FROM region r WHERE r.code = event.region_code))::text) || ',' || itk_csv_field((event.place_id)::text) || ',' || itk_csv_field((event.location_name)::text) || ',' || itk_csv_field((event.lat)::text) || ',' || itk_csv_field((event.lon)::text) || ',' || itk_csv_field((event.geo_precision)::text) || ',' || itk_csv_field(((SELECT string_agg(u.name || ' (' || u.side || ')', '; ' ORDER BY eu.position) FROM event_unit eu JOIN unit u ON u.id = eu.unit_id WHERE eu.event_id = event.id AND eu.event_date = event.event_date))::text) || ',' || itk_csv_field(((SELECT string_agg(s.source_name || ' [' || s.stance || ' ' || s.reliability || s.credibility || ']', '; ' ORDER BY s.seq) FROM source_report s WHERE s.event_id = event.id AND s.event_date = event.event_date))::text) || ',' || itk_csv_field(((SELECT CASE WHEN bool_or(s.figures IS NOT NULL) THEN json_agg(s.figures ORDER BY s.seq)::text END FROM source_report s WHERE s.event_id = event.id AND s.event_date = event.event_date))::text) || ',' || itk_csv_field((event.fatalities)::text) || ',' || itk_csv_field((event.civilian_fatalities)::text) || ',' || itk_csv_field(((written.estimates -> 'fatalities' ->> 'low')::integer)::text) || ',' || itk_csv_field(((written.estimates -> 'fatalities' ->> 'best')::integer)::text) || ',' || itk_csv_field(((written.estimates -> 'fatalities' ->> 'high')::integer)::text) || ',' || itk_csv_field((written.disputed)::text) || ',' || itk_csv_field((event.summary)::text) || ',' || itk_csv_field((array_to_string(event.tags, '; '))::text) || ',' || itk_csv_field((event.control)::text) || ',' || itk_csv_field(((SELECT string_agg(rel.kind || ' ' || rel.event_id, '; ' ORDER BY rel.seq)
        FROM (SELECT r.seq, r.id, r.note, r.created_by, r.created_at, r.event_id AS read_by, r.kind, r.other_id AS event_id
        FROM event_relation r WHERE r.event_id = event.id
        UNION ALL
        SELECT r.seq, r.id, r.note, r.created_by, r.created_at, r.other_id, CASE r.kind WHEN 'retakes' THEN 'retaken_by' WHEN 'responds_to' THEN 'responded_to_by' WHEN 'part_of' THEN 'has_part' ELSE r.kind END, r.event_id
        FROM event_relation r WHERE r.other_id = event.id) rel))::text) || ',' || itk_csv_field((event.external_id)::text) || ',' || itk_csv_field((event.external_source)::text) || ',' || itk_csv_field((itk_rfc3339(event.created_at))::text) || ',' || itk_csv_field((itk_rfc3339(event.updated_at))::text) || ',' || itk_csv_field((event.version)::text) || ',' || itk_csv_field((itk_rfc3339(event.deleted_at))::text),
    fatalities_low = (written.estimates -> 'fatalities' ->> 'low')::integer,
    fatalities_best = (written.estimates -> 'fatalities' ->> 'best')::integer,
    fatalities_high = (written.estimates -> 'fatalities' ->> 'high')::integer,
    figures_disputed = written.disputed
FROM (SELECT w.id, w.event_date, figures.estimates, figures.disputed
    FROM unnest(ids, dates) AS w(id, event_date)
    JOIN event ON event.id = w.id AND event.event_date = w.event_date
    CROSS JOIN LATERAL (SELECT jsonb_agg(jsonb_build_object('figures', s.figures, 'graded', s.reliability IN ('A', 'B', 'C') AND s.credibility IN ('1', '2', '3')) ORDER BY s.seq) AS claims
        FROM source_report s WHERE s.event_id = w.id AND s.event_date = w.event_date
        AND s.figures IS NOT NULL) AS c
    CROSS JOIN LATERAL (SELECT CASE WHEN c.claims IS NULL THEN json_build_object('fatalities', CASE WHEN event.fatalities IS NOT NULL THEN json_build_object('low', event.fatalities, 'best', event.fatalities, 'high', event.fatalities, 'sources', 0, 'basis', 'recorded') END, 'civilian_fatalities', CASE WHEN event.civilian_fatalities IS NOT NULL THEN json_build_object('low', event.civilian_fatalities, 'best', event.civilian_fatalities, 'high', event.civilian_fatalities, 'sources', 0, 'basis', 'recorded') END, 'wounded', NULL, 'captured', NULL) ELSE itk_estimates(c.claims, event.fatalities, event.civilian_fatalities) END AS estimates, CASE WHEN c.claims IS NULL THEN false ELSE itk_figures_disputed(c.claims) END AS disputed OFFSET 0) AS figures) AS written
WHERE event.id = written.id AND event.event_date = written.event_date
RETURNING event.id, event.version, event.updated_at
$$;
