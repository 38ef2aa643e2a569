-- The one way a change to events is recorded (app/events/recording.py): every path that
-- changes an event (its own service, imports, unit renames) calls this with one row per
-- changed event, never the same event twice in a call, after the change itself is written.
-- Each event's next revision (numbered max + 1 in the event's date partition) holds the
-- action, the diff and the rationale. With `bump`, the event's version moves by one, who and
-- when are stamped, and a status change in the diff is carried into the row; without, the
-- caller's own UPDATE of the row has done that. Last, the event's stored document is
-- rendered again (itk_event_docs), so it is exact when the transaction commits.
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
)
INSERT INTO revision (event_id, event_date, revision, action, actor, rationale, diff)
SELECT c.event_id, c.event_date,
       (SELECT coalesce(max(r.revision), 0) + 1 FROM revision r
        WHERE r.event_id = c.event_id AND r.event_date = c.event_date),
       c.action, actor, c.rationale, c.diff
FROM change c
WHERE EXISTS (SELECT 1 FROM event e WHERE e.id = c.event_id AND e.event_date = c.event_date);

SELECT d.id, d.version, d.updated_at FROM itk_event_docs(ids, dates) AS d;
$$;
