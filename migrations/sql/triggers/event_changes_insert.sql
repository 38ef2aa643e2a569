-- New events go to the change feed.
CREATE TRIGGER event_changes_insert AFTER INSERT ON event
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION itk_log_event_changes();
