-- event_key follows event (a partitioned table cannot hold a unique key without its partition
-- key, so what refers to an event by its id alone refers to event_key): one row per event,
-- inserted and deleted with it, its external id following updates. Deleting a key cascades to
-- the event's sources and unit links.
CREATE OR REPLACE FUNCTION itk_event_key_delete() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN DELETE FROM event_key k USING old_rows o WHERE k.id = o.id; RETURN NULL; END $$;
