-- The control map's states follow control_claim (claims added or removed, on any write of an
-- event: itk_control_claims) and the gazetteer (a place renamed or moved), statement by
-- statement, in the writing transaction: the places touched have their states rebuilt.
CREATE OR REPLACE FUNCTION itk_control_states_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'place' THEN
        PERFORM itk_control_states(ARRAY(
            SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
            WHERE (n.name, n.lat, n.lon, n.country, n.region_code)
                  IS DISTINCT FROM (o.name, o.lat, o.lon, o.country, o.region_code)
              AND EXISTS (SELECT FROM control_claim c WHERE c.place_id = n.id)));
    ELSIF TG_OP = 'INSERT' THEN
        PERFORM itk_control_states(ARRAY(SELECT DISTINCT place_id FROM new_rows));
    ELSE
        PERFORM itk_control_states(ARRAY(SELECT DISTINCT place_id FROM old_rows));
    END IF;
    RETURN NULL;
END $$;
