-- The control ledger's claims follow event (docs/control.md): a row per place an event's
-- control claim names (its own place when it names none), for events not deleted, with the
-- event's dates, precision and status; the ledger reads nothing else. Statement-level, as the
-- rollup: an import's million rows are one INSERT … SELECT, and a write that moves an event to
-- another year's partition is one UPDATE of the transition tables.
CREATE OR REPLACE FUNCTION itk_control_claims() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM control_claim c USING old_rows o
        WHERE c.event_id = o.id AND o.control IS NOT NULL;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO control_claim (place_id, event_id, event_date, event_date_end,
                                   date_precision, outcome, side, from_side, status)
        SELECT DISTINCT p.place_id, n.id, n.event_date, n.event_date_end, n.date_precision,
               n.control ->> 'outcome', n.control ->> 'side', n.control ->> 'from_side', n.status
        FROM new_rows n
        CROSS JOIN LATERAL (
            SELECT value::uuid AS place_id FROM jsonb_array_elements_text(n.control -> 'places')
            UNION ALL
            SELECT n.place_id WHERE coalesce(jsonb_array_length(n.control -> 'places'), 0) = 0
        ) p
        WHERE n.control IS NOT NULL AND n.deleted_at IS NULL AND p.place_id IS NOT NULL;
    END IF;
    RETURN NULL;
END $$;
