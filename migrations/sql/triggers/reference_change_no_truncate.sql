CREATE TRIGGER reference_change_no_truncate BEFORE TRUNCATE ON reference_change
    FOR EACH STATEMENT EXECUTE FUNCTION revision_append_only();
