CREATE TRIGGER event_key_insert AFTER INSERT ON event
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION itk_event_key_insert();
