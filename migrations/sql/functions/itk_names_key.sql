-- Spelling-insensitive keys of a name and its alternatives, ' | '-joined: what place and
-- region searches compare with pg_trgm (see itk_name_key).
CREATE OR REPLACE FUNCTION itk_names_key(name text, alt_names text[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT concat_ws(' | ', itk_name_key(name),
    (SELECT string_agg(DISTINCT itk_name_key(alt), ' | ') FROM unnest(alt_names) AS alt)
) $$;
