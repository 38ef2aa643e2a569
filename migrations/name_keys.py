"""SQL for name keys: one spelling-insensitive form for Latin and Cyrillic names.

"Demidovka", "Demydivka" and "Демидовка" become "demidovka"/"demidivka"/"demidovka": Cyrillic is
mapped letter by letter, then Latin digraphs of the Russian and Ukrainian romanisations are
folded (kh/h/g, zh/z, ts/ch/c, sh/shch/s, y/j/i, i before a vowel dropped). Keys are compared
with pg_trgm, so what remains different only lowers a similarity score.

The functions are IMMUTABLE so that generated columns and indexes can use them; they only call
unaccent with an explicit dictionary, which is safe to treat so.
"""

CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "ґ": "g", "д": "d", "е": "e", "ё": "e", "є": "e",
    "ж": "z", "з": "z", "и": "i", "і": "i", "ї": "i", "й": "i", "к": "k", "л": "l", "м": "m",
    "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ў": "u", "ф": "f",
    "х": "g", "ц": "c", "ч": "c", "ш": "s", "щ": "s", "ы": "i", "э": "e", "ю": "u", "я": "a",
}  # fmt: skip
DROPPED = "ъьЪЬ"


def _translate_args() -> tuple[str, str]:
    source, target = "", ""
    for letter, latin in CYRILLIC.items():
        source += letter + letter.upper()
        target += latin + latin
    return source + DROPPED, target


_FROM, _TO = _translate_args()

# (pattern, replacement), applied in order to the lower-cased, unaccented, transliterated text.
LATIN_RULES = [
    ("shch|sch", "s"),
    ("kh|gh", "g"),
    ("zh", "z"),
    ("tch|tz|ts|ch|cz", "c"),
    ("sh", "s"),
    ("h", "g"),
    ("[yj]", "i"),
    ("w", "v"),
    ("i+", "i"),
    ("i([aeuo])", "\\1"),
    ("[^a-z0-9]+", " "),
]


def _chain(expression: str) -> str:
    for pattern, replacement in LATIN_RULES:
        expression = f"regexp_replace({expression}, '{pattern}', '{replacement}', 'g')"
    return expression


NAME_KEY = f"""
CREATE FUNCTION itk_name_key(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
AS $$ SELECT btrim({
    _chain(
        "lower(translate(public.unaccent('public.unaccent'::regdictionary, value), "
        f"'{_FROM}', '{_TO}'))"
    )
}) $$
"""

NAMES_KEY = """
CREATE FUNCTION itk_names_key(name text, alt_names text[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT concat_ws(' | ', itk_name_key(name),
    (SELECT string_agg(DISTINCT itk_name_key(alt), ' | ') FROM unnest(alt_names) AS alt)
) $$
"""

# Unit names: ordinals lose their suffix ("225th", "225-й") and abbreviations are spelled out.
UNIT_ABBREVIATIONS = [
    ("regt|rgt|reg", "regiment"),
    ("bde|brig|bgd", "brigade"),
    ("bn|btn|bat", "battalion"),
    ("div", "division"),
    ("sep", "separate"),
    ("mech|mechanised", "mechanized"),
    ("mot|motorised", "motorized"),
    ("abn", "airborne"),
    ("gds|gd", "guards"),
    ("inf", "infantry"),
    ("arty|art", "artillery"),
    ("mar|mne", "marine"),
    ("tk", "tank"),
    ("spec|sf", "special"),
]


def _unit_chain(expression: str) -> str:
    expression = (
        f"regexp_replace({expression}, '(\\d+)-?(st|nd|rd|th|й|я|го|ая|ой|ий|ый)', '\\1', 'g')"
    )
    for abbreviations, word in UNIT_ABBREVIATIONS:
        expression = f"regexp_replace({expression}, '\\m({abbreviations})\\M\\.?', '{word}', 'g')"
    return expression


UNIT_KEY = f"""
CREATE FUNCTION itk_unit_key(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
AS $$ SELECT itk_name_key({_unit_chain("lower(value)")}) $$
"""

UNIT_KEYS = """
CREATE FUNCTION itk_unit_keys(name text, aliases text[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT concat_ws(' | ', itk_unit_key(name),
    (SELECT string_agg(DISTINCT itk_unit_key(alias), ' | ') FROM unnest(aliases) AS alias)
) $$
"""

FUNCTIONS = [NAME_KEY, NAMES_KEY, UNIT_KEY, UNIT_KEYS]
DROP_FUNCTIONS = [
    "DROP FUNCTION IF EXISTS itk_unit_keys(text, text[])",
    "DROP FUNCTION IF EXISTS itk_unit_key(text)",
    "DROP FUNCTION IF EXISTS itk_names_key(text, text[])",
    "DROP FUNCTION IF EXISTS itk_name_key(text)",
]
