-- Events whose document changed (deletions included: they set deleted_at) go to the change feed.
CREATE TRIGGER event_changes_update AFTER UPDATE ON event
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION itk_log_event_updates();
