CREATE TRIGGER event_change_notify AFTER INSERT ON event_change
    FOR EACH STATEMENT EXECUTE FUNCTION itk_notify_changes();
