-- Wakes whoever listens on itk_event_changes (the webhook worker) when changes are logged:
-- sent at commit, one per transaction whatever the number of rows (PostgreSQL folds equal
-- notifications), so delivery need not wait for its next poll.
CREATE OR REPLACE FUNCTION itk_notify_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('itk_event_changes', '');
    RETURN NULL;
END $$;
