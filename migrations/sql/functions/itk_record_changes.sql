-- The one way a change to events is recorded (app/events/recording.py): every path that
-- changes an event (its own service, imports, unit renames) calls this with one row per
-- changed event, never the same event twice in a call. Each event's next revision (numbered
-- max + 1 in the event's date partition) holds the action, the diff and the rationale. With
-- `bump`, the event's version moves by one, who and when are stamped, and a status change in
-- the diff is carried into the row; without, the caller's own UPDATE of the row has done that
-- in the same statement as its other changes (the service's, through the ORM), so the row is
-- written once and the change feed and the stats triggers see one change.
CREATE OR REPLACE FUNCTION itk_record_changes(
    ids uuid[], dates date[], actions text[], actor uuid, diffs jsonb[], rationales text[],
    bump boolean
) RETURNS TABLE (event_id uuid, version integer, updated_at timestamptz)
LANGUAGE sql VOLATILE
AS $$
WITH change AS (
    SELECT c.event_id, c.event_date, c.action, c.diff, c.rationale
    FROM unnest(ids, dates, actions, diffs, rationales)
         AS c(event_id, event_date, action, diff, rationale)
), bumped AS (
    UPDATE event e
    SET version = e.version + 1, updated_by = actor, updated_at = now(),
        status = coalesce(c.diff -> 'status' ->> 'to', e.status)
    FROM change c
    WHERE bump AND e.id = c.event_id AND e.event_date = c.event_date
    RETURNING e.id, e.event_date, e.version, e.updated_at
), changed AS (
    SELECT b.id, b.event_date, b.version, b.updated_at FROM bumped b
    UNION ALL
    SELECT e.id, e.event_date, e.version, e.updated_at
    FROM event e JOIN change c ON e.id = c.event_id AND e.event_date = c.event_date
    WHERE NOT bump
), recorded AS (
    INSERT INTO revision (event_id, event_date, revision, action, actor, rationale, diff)
    SELECT c.event_id, c.event_date,
           (SELECT coalesce(max(r.revision), 0) + 1 FROM revision r
            WHERE r.event_id = c.event_id AND r.event_date = c.event_date),
           c.action, actor, c.rationale, c.diff
    FROM change c JOIN changed d ON d.id = c.event_id AND d.event_date = c.event_date
)
SELECT d.id, d.version, d.updated_at FROM changed d
$$;
