CREATE TRIGGER event_control_claims_insert AFTER INSERT ON event
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION itk_control_claims();
