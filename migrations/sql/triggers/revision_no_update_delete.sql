-- A row trigger on the partitioned table: PostgreSQL gives every partition a copy.
CREATE TRIGGER revision_no_update_delete BEFORE UPDATE OR DELETE ON revision
    FOR EACH ROW EXECUTE FUNCTION revision_append_only();
