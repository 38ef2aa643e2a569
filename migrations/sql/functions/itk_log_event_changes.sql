-- The change feed: one row per event written, read in (xid, seq) order by /v1/changes.
CREATE OR REPLACE FUNCTION itk_log_event_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO event_change (event_id, op)
    SELECT id, CASE WHEN deleted_at IS NULL THEN 'upsert' ELSE 'delete' END FROM new_rows;
    RETURN NULL;
END $$;
