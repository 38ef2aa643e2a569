CREATE TRIGGER control_claim_states_delete AFTER DELETE ON control_claim
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION itk_control_states_follow();
