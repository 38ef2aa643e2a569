CREATE TRIGGER event_rollup_insert AFTER INSERT ON event
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION itk_rollup_insert();
