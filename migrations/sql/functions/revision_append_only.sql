-- The history is append-only, whoever connects: revisions and reference changes refuse UPDATE,
-- DELETE and TRUNCATE. One exception: moving a revision with its event's date (an UPDATE of
-- event_date alone, which PostgreSQL runs as a DELETE and an INSERT across partitions), from
-- the event's trigger (itk_children_follow_event_date) only.
CREATE OR REPLACE FUNCTION revision_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Moving with the event's date (an UPDATE of event_date alone, which PostgreSQL runs as
    -- a DELETE and an INSERT across partitions) is allowed from the event's trigger only.
    IF pg_trigger_depth() > 1 AND (
        TG_OP = 'DELETE'
        OR (TG_OP = 'UPDATE' AND (to_jsonb(NEW) - 'event_date') = (to_jsonb(OLD) - 'event_date'))
    ) THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    RAISE EXCEPTION 'revision rows are append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
