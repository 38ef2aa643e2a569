CREATE TRIGGER event_control_claims_delete AFTER DELETE ON event
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION itk_control_claims();
