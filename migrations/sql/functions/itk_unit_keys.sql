-- A unit's stored key: the keys of its name and of each alias, ' | '-joined (see itk_unit_key).
CREATE OR REPLACE FUNCTION itk_unit_keys(name text, aliases text[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT concat_ws(' | ', itk_unit_key(name),
    (SELECT string_agg(DISTINCT itk_unit_key(alias), ' | ') FROM unnest(aliases) AS alias)
) $$;
