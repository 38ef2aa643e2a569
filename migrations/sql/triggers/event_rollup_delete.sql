CREATE TRIGGER event_rollup_delete AFTER DELETE ON event
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION itk_rollup_delete();
