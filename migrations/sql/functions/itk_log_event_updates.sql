-- The change feed: one row per event whose stored document changed, read in (xid, seq) order
-- by /v1/changes. Every write ends by rendering the document, so a change that takes several
-- UPDATEs of the row is logged once, by the last; a new event's first rendering is not logged
-- (its INSERT was: itk_log_event_changes).
CREATE OR REPLACE FUNCTION itk_log_event_updates() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO event_change (event_id, op)
    SELECT n.id, CASE WHEN n.deleted_at IS NULL THEN 'upsert' ELSE 'delete' END
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE n.doc IS DISTINCT FROM o.doc AND NOT (o.doc IS NULL AND n.version = 1);
    RETURN NULL;
END $$;
