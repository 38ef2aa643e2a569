-- event_key follows event (a partitioned table cannot hold a unique key without its partition
-- key, so what refers to an event by its id alone refers to event_key): one row per event,
-- inserted and deleted with it, its external id following updates. Deleting a key cascades to
-- the event's sources and unit links. An import makes its new events' keys first (so their
-- sources and unit links can be written before the events, rendered with them): an event
-- whose key exists keeps it.
CREATE OR REPLACE FUNCTION itk_event_key_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO event_key (id, external_source, external_id)
    SELECT id, external_source, external_id FROM new_rows
    ON CONFLICT (id) DO NOTHING;
    RETURN NULL;
END $$;
