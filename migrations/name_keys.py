"""itk_name_key, the name key: one spelling-insensitive form for Latin and Cyrillic names.

The vocabulary lives here; the function is rendered into migrations/sql/functions/ by
`python -m migrations.sql render` (a new version file when it changed: see migrations/README.md),
and migrations load the rendered file, never this module.

"Demidovka", "Demydivka" and "Демидовка" become "demidovka"/"demidivka"/"demidovka": Cyrillic is
mapped letter by letter, then Latin digraphs of the Russian and Ukrainian romanisations are
folded (kh/h/g, zh/z, ts/ch/c, sh/shch/s, y/j/i, i before a vowel dropped). Keys are compared
with pg_trgm, so what remains different only lowers a similarity score.

The function is IMMUTABLE so that generated columns and indexes can use it; it only calls
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
CREATE OR REPLACE FUNCTION itk_name_key(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
AS $$ SELECT btrim({
    _chain(
        "lower(translate(public.unaccent('public.unaccent'::regdictionary, value), "
        f"'{_FROM}', '{_TO}'))"
    )
}) $$
"""
