CREATE TRIGGER event_key_delete AFTER DELETE ON event
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION itk_event_key_delete();
