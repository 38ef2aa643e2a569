-- Rendered from migrations/name_keys.py by `python -m migrations.sql render`: edit the vocabulary
-- there, then load the new version file from a new migration (migrations/README.md).
CREATE OR REPLACE FUNCTION itk_name_key(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
AS $$ SELECT btrim(regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(lower(translate(public.unaccent('public.unaccent'::regdictionary, value), 'аАбБвВгГґҐдДеЕёЁєЄжЖзЗиИіІїЇйЙкКлЛмМнНоОпПрРсСтТуУўЎфФхХцЦчЧшШщЩыЫэЭюЮяЯъьЪЬ', 'aabbvvggggddeeeeeezzzziiiiiiiikkllmmnnoopprrssttuuuuffggccccssssiieeuuaa')), 'shch|sch', 's', 'g'), 'kh|gh', 'g', 'g'), 'zh', 'z', 'g'), 'tch|tz|ts|ch|cz', 'c', 'g'), 'sh', 's', 'g'), 'h', 'g', 'g'), '[yj]', 'i', 'g'), 'w', 'v', 'g'), 'i+', 'i', 'g'), 'i([aeuo])', '\1', 'g'), '[^a-z0-9]+', ' ', 'g')) $$;
