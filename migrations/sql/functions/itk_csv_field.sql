-- One value as COPY … (FORMAT csv) writes it in a row of several columns: NULL as nothing, a
-- value holding the delimiter, a quote, CR or LF (or an empty string, to tell it from NULL)
-- quoted with its quotes doubled, any other as it is. Stored CSV lines are built with it.
CREATE OR REPLACE FUNCTION itk_csv_field(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT CASE
    WHEN value IS NULL THEN ''
    WHEN value = '' OR strpos(value, ',') > 0 OR strpos(value, '"') > 0
         OR strpos(value, chr(10)) > 0 OR strpos(value, chr(13)) > 0
        THEN '"' || replace(value, '"', '""') || '"'
    ELSE value
END
$$;
