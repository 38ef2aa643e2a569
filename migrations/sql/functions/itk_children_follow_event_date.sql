-- An event's sources, unit links and revisions follow its date into their partitions.
-- Revisions are append-only; this trigger is the one writer allowed to move them
-- (revision_append_only lets it through: see there). The moved events are found with EXCEPT
-- (hashed, linear) rather than a join of the two transition tables, which have no statistics:
-- a status change of 80,000 events ran for minutes as a nested loop.
CREATE OR REPLACE FUNCTION itk_children_follow_event_date() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT id, event_date FROM new_rows EXCEPT SELECT id, event_date FROM old_rows) THEN
        CREATE TEMP TABLE itk_moved_events ON COMMIT DROP AS SELECT id, event_date FROM new_rows EXCEPT SELECT id, event_date FROM old_rows;
        ANALYZE itk_moved_events;
        UPDATE source_report c SET event_date = m.event_date FROM itk_moved_events m WHERE c.event_id = m.id AND c.event_date <> m.event_date;
        UPDATE event_unit c SET event_date = m.event_date FROM itk_moved_events m WHERE c.event_id = m.id AND c.event_date <> m.event_date;
        UPDATE revision c SET event_date = m.event_date FROM itk_moved_events m WHERE c.event_id = m.id AND c.event_date <> m.event_date;
        DROP TABLE itk_moved_events;
    END IF;
    RETURN NULL;
END $$;
