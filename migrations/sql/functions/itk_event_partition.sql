-- One year's partition of event and of every table partitioned with it: by event_date, or for
-- the change feed by changed_at (a UTC year). Made ahead of time: the baseline makes ten years
-- back to two ahead, the background task keeps two years ahead. Tables that are not
-- partitioned are skipped. Years whose rows are in a default partition already stay there
-- (moving them in place under foreign keys and triggers is not worth its risk): the function
-- says so.
CREATE OR REPLACE FUNCTION itk_event_partition(year int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    parent text;
    key text;
    low text;
    high text;
    found boolean;
BEGIN
    FOREACH parent IN ARRAY ARRAY['event', 'source_report', 'event_unit', 'revision',
                                  'event_change'] LOOP
        CONTINUE WHEN to_regclass(parent || '_y' || year) IS NOT NULL
            OR (SELECT relkind FROM pg_class WHERE oid = parent::regclass) <> 'p';
        IF parent = 'event_change' THEN
            key := 'changed_at';
            low := make_timestamptz(year, 1, 1, 0, 0, 0, 'UTC')::text;
            high := make_timestamptz(year + 1, 1, 1, 0, 0, 0, 'UTC')::text;
        ELSE
            key := 'event_date';
            low := make_date(year, 1, 1)::text;
            high := make_date(year + 1, 1, 1)::text;
        END IF;
        EXECUTE format('SELECT EXISTS (SELECT FROM %I WHERE %I >= %L AND %I < %L)',
                       parent || '_default', key, low, key, high) INTO found;
        IF found THEN
            RAISE EXCEPTION '% rows of % are in %_default already; that year stays there',
                parent, year, parent USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
        EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                       parent || '_y' || year, parent, low, high);
        -- A statement trigger on revision does not fire for TRUNCATE of one partition.
        IF parent = 'revision' THEN
            EXECUTE format('CREATE TRIGGER revision_no_truncate BEFORE TRUNCATE ON %I'
                           ' FOR EACH STATEMENT EXECUTE FUNCTION revision_append_only()',
                           parent || '_y' || year);
        END IF;
    END LOOP;
    RETURN 'event_y' || year;
END $$;
