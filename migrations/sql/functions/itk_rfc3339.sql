-- Timestamps as exports write them: RFC 3339 in UTC, microseconds only when there are any.
CREATE OR REPLACE FUNCTION itk_rfc3339(ts timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE STRICT
AS $$ SELECT replace(to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                     '.000000Z', 'Z') $$;
