CREATE TRIGGER event_change_xact AFTER INSERT ON event_change
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION itk_log_change_xact();
