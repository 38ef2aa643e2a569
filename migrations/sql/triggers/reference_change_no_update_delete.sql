-- Reference changes are append-only like revisions, with the same guard (no trigger above it
-- ever moves their rows, so its one exception never applies here).
CREATE TRIGGER reference_change_no_update_delete BEFORE UPDATE OR DELETE ON reference_change
    FOR EACH ROW EXECUTE FUNCTION revision_append_only();
