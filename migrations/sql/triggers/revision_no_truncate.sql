-- A statement trigger on revision does not fire for TRUNCATE of one of its partitions, so
-- each partition has its own: the default one here, each yearly one from itk_event_partition.
CREATE TRIGGER revision_no_truncate BEFORE TRUNCATE ON revision
    FOR EACH STATEMENT EXECUTE FUNCTION revision_append_only();
CREATE TRIGGER revision_no_truncate BEFORE TRUNCATE ON revision_default
    FOR EACH STATEMENT EXECUTE FUNCTION revision_append_only();
