-- event_key follows event (a partitioned table cannot hold a unique key without its partition
-- key, so what refers to an event by its id alone refers to event_key): one row per event,
-- inserted and deleted with it, its external id following updates. Deleting a key cascades to
-- the event's sources and unit links.
CREATE OR REPLACE FUNCTION itk_event_key_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN UPDATE event_key k SET external_source = n.external_source, external_id = n.external_id FROM new_rows n WHERE k.id = n.id AND (k.external_source, k.external_id) IS DISTINCT FROM (n.external_source, n.external_id); RETURN NULL; END $$;
