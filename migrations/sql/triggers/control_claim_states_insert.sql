CREATE TRIGGER control_claim_states_insert AFTER INSERT ON control_claim
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION itk_control_states_follow();
