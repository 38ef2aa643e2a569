CREATE TRIGGER place_control_states_update AFTER UPDATE ON place
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION itk_control_states_follow();
