-- One row per transaction that logged changes to the change feed: what the data version
-- (app/stats/repository.data_version) counts above the snapshot's xmin, one row per
-- transaction however many events it wrote (counting the changes themselves read every row an
-- import wrote, for every stats and tile request, while an older writer stayed open).
CREATE OR REPLACE FUNCTION itk_log_change_xact() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_rows) THEN
        INSERT INTO event_change_xact (xid) VALUES ((pg_current_xact_id()::text)::bigint)
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;
