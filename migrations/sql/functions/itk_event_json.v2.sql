-- Rendered from app/events/fields.py by `python -m migrations.sql render`: edit the vocabulary
-- there, then load the new version file from a new migration (migrations/README.md).
CREATE OR REPLACE FUNCTION itk_event_json(wanted uuid, on_date date)
RETURNS text
LANGUAGE sql STABLE
SET jit = off
AS $$
SELECT (json_build_object(
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
    'estimates', CASE WHEN (SELECT jsonb_agg(jsonb_build_object('figures', s.figures, 'graded', s.reliability IN ('A', 'B', 'C') AND s.credibility IN ('1', '2', '3')) ORDER BY s.seq) FROM source_report s WHERE s.event_id = event.id AND s.event_date = event.event_date AND s.figures IS NOT NULL) IS NULL THEN json_build_object('fatalities', CASE WHEN event.fatalities IS NOT NULL THEN json_build_object('low', event.fatalities, 'best', event.fatalities, 'high', event.fatalities, 'sources', 0, 'basis', 'recorded') END, 'civilian_fatalities', CASE WHEN event.civilian_fatalities IS NOT NULL THEN json_build_object('low', event.civilian_fatalities, 'best', event.civilian_fatalities, 'high', event.civilian_fatalities, 'sources', 0, 'basis', 'recorded') END, 'wounded', NULL, 'captured', NULL) ELSE itk_estimates((SELECT jsonb_agg(jsonb_build_object('figures', s.figures, 'graded', s.reliability IN ('A', 'B', 'C') AND s.credibility IN ('1', '2', '3')) ORDER BY s.seq) FROM source_report s WHERE s.event_id = event.id AND s.event_date = event.event_date AND s.figures IS NOT NULL), event.fatalities, event.civilian_fatalities) END,
    'figures_disputed', event.figures_disputed,
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
))::text
FROM event WHERE event.id = wanted AND event.event_date = on_date
$$;
