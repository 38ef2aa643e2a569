"""itk_unit_key, the unit key: one form for a unit designation written in English, Russian or
Ukrainian, so that "225th Separate Assault Regiment", "225 ОШП" and "225-й отдельный
штурмовой полк" all read as "225 assault regiment".

The vocabulary lives here; the function is rendered into migrations/sql/functions/ by
`python -m migrations.sql render` (a new version file when it changed: see migrations/README.md),
and migrations load the rendered file, never this module.

How a name becomes a key, in PostgreSQL (itk_unit_key):

1. Cyrillic capitals are lowered by an explicit table (lower() depends on the database's
   locale), accents dropped by unaccent, apostrophes removed.
2. Ordinal endings go: 225th, 3rd, 225-й, 47-ма, 3-тя, 92-га, 155-я, 1-го become the number.
3. The text is cut into words (digits and letters apart: "3ОШБр" is "3", "ошбр").
4. Each word is looked up in the vocabulary below: a whole word (abbreviations, short words)
   or the longest word stem it starts with (so every case and gender of "штурмовой",
   "штурмова", "штурмового" reads "assault"). A word of the vocabulary stands for one or more
   English words; an abbreviation for all of its words (ОМБр: "mechanized brigade"); the
   words variants leave out ("separate", "guards", "forces", "named after") stand for none.
   Marines are naval infantry ("морська піхота", ОБрМП), distinct from a navy ("naval"), and
   "air assault" and "воздушно-десантный" are airborne, distinct from an air force ("air",
   "воздушн…", "повітрян…"). Country words read as the country in English ("Russian",
   "России", "України": "russia", "ukraine"), so one country's air force is not another's.
   A word not in the vocabulary is spelled by the place-name key (itk_name_key), so "Ахмат"
   and "Akhmat" meet too.
5. The words are de-duplicated and sorted: word order differs between the languages
   ("бригада територіальної оборони", "territorial defence brigade"). A name of dropped words
   only ("Separate Guards") keeps its place-name key.

A unit's stored key (unit.names_key) is the keys of its name and each alias, " | "-joined;
the `unit` filter, imports and new units compare whole keys, /v1/units?q= ranks by trigram
similarity to them.

Sorting loses which number goes with which word: "1st Battalion, 80th Brigade" and "80th
Battalion, 1st Brigade" share a key. Name such units with their parent in an alias-free form,
or give them ids in filters.
"""

import json

# Whole words: abbreviations (Cyrillic and their Latin spellings) and words too short to be
# stems. "" drops the word.
WORDS = {
    # Ukrainian abbreviations: О… is "окрема/окремий" (separate), dropped like the word.
    "ошп": "assault regiment", "oshp": "assault regiment",
    "ошб": "assault battalion", "oshb": "assault battalion",
    "ошбр": "assault brigade", "oshbr": "assault brigade",
    "омбр": "mechanized brigade", "ombr": "mechanized brigade",
    "мбр": "mechanized brigade", "mbr": "mechanized brigade",
    "омпбр": "motorized infantry brigade", "ompbr": "motorized infantry brigade",
    "омпб": "motorized infantry battalion", "ompb": "motorized infantry battalion",
    "одшбр": "airborne assault brigade", "odshbr": "airborne assault brigade",
    "дшбр": "airborne assault brigade", "dshbr": "airborne assault brigade",
    "одшб": "airborne assault battalion", "odshb": "airborne assault battalion",
    "дшб": "airborne assault battalion", "dshb": "airborne assault battalion",
    "дшп": "airborne assault regiment", "dshp": "airborne assault regiment",
    "дшд": "airborne assault division", "dshd": "airborne assault division",
    "дшв": "airborne assault", "dshv": "airborne assault",
    "обрмп": "naval infantry brigade", "obrmp": "naval infantry brigade",
    "обмп": "naval infantry battalion", "obmp": "naval infantry battalion",
    "отбр": "tank brigade", "otbr": "tank brigade",
    "тбр": "tank brigade", "tbr": "tank brigade",
    "оабр": "artillery brigade", "oabr": "artillery brigade",
    "абр": "artillery brigade", "abr": "artillery brigade",
    "тро": "territorial defence", "tro": "territorial defence",
    "обртро": "territorial defence brigade", "obrtro": "territorial defence brigade",
    "бтро": "territorial defence battalion", "btro": "territorial defence battalion",
    "обтро": "territorial defence battalion", "obtro": "territorial defence battalion",
    "ссо": "special operations", "sso": "special operations",
    "нгу": "national", "ngu": "national",
    "зсу": "armed", "zsu": "armed",
    # Russian abbreviations.
    "омсбр": "motor rifle brigade", "omsbr": "motor rifle brigade",
    "мсбр": "motor rifle brigade", "msbr": "motor rifle brigade",
    "мсп": "motor rifle regiment", "msp": "motor rifle regiment",
    "мсд": "motor rifle division", "msd": "motor rifle division",
    "мсб": "motor rifle battalion", "msb": "motor rifle battalion",
    "вдд": "airborne division", "vdd": "airborne division",
    "вдв": "airborne", "vdv": "airborne",
    "пдп": "airborne regiment", "pdp": "airborne regiment",
    "обрспн": "special brigade", "obrspn": "special brigade",
    "брспн": "special brigade", "brspn": "special brigade", "спн": "special", "spn": "special",
    "ооспн": "special detachment",
    "тд": "tank division", "td": "tank division",
    "тп": "tank regiment", "tp": "tank regiment",
    "ак": "army corps", "ak": "army corps",
    "оа": "arms army combined", "oa": "arms army combined",
    "гв": "", "gv": "",
    "им": "", "ім": "", "im": "",
    "бр": "brigade", "br": "brigade",
    "рота": "company", "роты": "company", "роти": "company", "роту": "company",
    "рот": "company", "ротой": "company", "ротою": "company",
    "сил": "", "силы": "", "сили": "", "силами": "",
    "и": "", "і": "", "й": "", "та": "",
    # English abbreviations and short words.
    "regt": "regiment", "rgt": "regiment", "reg": "regiment", "regiment": "regiment",
    "regiments": "regiment",
    "bde": "brigade", "brig": "brigade", "bgd": "brigade",
    "bn": "battalion", "btn": "battalion", "bat": "battalion", "batt": "battalion",
    "div": "division",
    "coy": "company", "co": "company", "company": "company",
    "sep": "", "separate": "", "independent": "",
    "gds": "", "gd": "", "guards": "", "guard": "",
    "named": "", "after": "", "the": "", "of": "", "and": "", "for": "",
    "mech": "mechanized", "mot": "motorized", "abn": "airborne",
    "inf": "infantry", "arty": "artillery", "art": "artillery",
    "mar": "naval infantry", "mne": "naval infantry", "marine": "naval infantry",
    "marines": "naval infantry", "naval": "naval", "navy": "naval",
    "tk": "tank", "tank": "tank", "tanks": "tank",
    "spec": "special", "sf": "special", "spetsnaz": "special",
    "motor": "motor", "tdf": "territorial defence",
    "mrr": "motor rifle regiment", "mrd": "motor rifle division",
    "mrb": "motor rifle brigade", "mrbn": "motor rifle battalion",
    "aab": "airborne assault brigade", "aabn": "airborne assault battalion",
    "combined": "combined", "arms": "arms",
    "force": "", "forces": "",
    "operation": "operations", "operations": "operations",
    "army": "army", "corps": "corps",
    # Russian and Ukrainian words in Latin letters, as some reports write them.
    "polk": "regiment", "brigada": "brigade", "divizia": "division", "diviziya": "division",
}  # fmt: skip

# Word stems: a word starting with one of these reads as its words (the longest stem wins).
STEMS = {
    # Russian.
    "отдельн": "", "гвардейск": "", "имени": "",
    "бригад": "brigade", "батальон": "battalion", "дивизи": "division",
    "полк": "regiment", "корпус": "corps", "арми": "army", "армейск": "army",
    "отряд": "detachment", "групп": "group", "центр": "centre", "флот": "fleet",
    "штурм": "assault", "механизир": "mechanized", "моториз": "motorized",
    "мотострелк": "motor rifle", "стрелк": "rifle",
    "десант": "airborne", "воздушн": "air", "парашют": "airborne", "военн": "",
    "росси": "russia", "российск": "russia", "украин": "ukraine", "белорус": "belarus",
    "морск": "naval", "пехот": "infantry",
    "танк": "tank", "артиллер": "artillery", "ракетн": "missile", "зенитн": "antiaircraft",
    "территориальн": "territorial", "оборон": "defence",
    "специальн": "special", "спецназ": "special", "назначени": "",
    "разведыв": "reconnaissance", "разведк": "reconnaissance",
    "инженерн": "engineer", "сапер": "engineer", "горн": "mountain", "егер": "jaeger",
    "президент": "presidential", "оперативн": "operational", "операци": "operations",
    "берегов": "coastal", "добровольч": "volunteer", "пограничн": "border",
    "национальн": "national", "гвард": "", "вооруж": "armed", "войск": "",
    # Ukrainian.
    "окрем": "", "гвардійськ": "", "імені": "",
    "батальйон": "battalion", "дивізі": "division", "армі": "army", "армійськ": "army",
    "загін": "detachment", "загон": "detachment", "груп": "group",
    "механізов": "mechanized", "мотопіх": "motorized infantry",
    "мотострілец": "motor rifle", "мотострільц": "motor rifle",
    "стрілец": "rifle", "стрільц": "rifle",
    "повітрян": "air", "морськ": "naval", "піхот": "infantry",
    "росі": "russia", "російськ": "russia", "україн": "ukraine", "білорус": "belarus",
    "артилер": "artillery", "зенітн": "antiaircraft", "територіальн": "territorial",
    "спеціальн": "special", "призначенн": "",
    "розвідув": "reconnaissance", "розвідк": "reconnaissance",
    "інженерн": "engineer", "гірськ": "mountain", "єгер": "jaeger",
    "президентськ": "presidential", "операці": "operations", "прикордон": "border",
    "національн": "national", "гварді": "", "збройн": "armed", "військ": "",
    "загальновійськов": "arms combined",
    # English.
    "brigade": "brigade", "battalion": "battalion", "division": "division",
    "detachment": "detachment", "group": "group", "centre": "centre", "center": "centre",
    "fleet": "fleet", "assault": "assault", "mechani": "mechanized", "motoris": "motorized",
    "motoriz": "motorized", "rifle": "rifle", "airborne": "airborne", "airmobile": "airborne",
    "parachut": "airborne", "infantry": "infantry", "artiller": "artillery",
    "missile": "missile", "rocket": "missile", "antiaircraft": "antiaircraft",
    "territorial": "territorial", "defence": "defence", "defense": "defence",
    "общевойсков": "arms combined",
    "special": "special", "purpose": "", "reconnaissance": "reconnaissance",
    "recon": "reconnaissance", "engineer": "engineer", "sapper": "engineer",
    "mountain": "mountain", "jaeger": "jaeger", "jager": "jaeger", "ranger": "jaeger",
    "presidential": "presidential", "operational": "operational", "coastal": "coastal",
    "volunteer": "volunteer", "border": "border", "national": "national", "armed": "armed",
    "russia": "russia", "ukrain": "ukraine", "belarus": "belarus", "belarusian": "belarus",
    # Russian and Ukrainian words in Latin letters.
    "otdeln": "", "okrem": "", "gvardei": "", "shturm": "assault", "mekhaniz": "mechanized",
    "motostrelk": "motor rifle", "desant": "airborne",
}  # fmt: skip

CYRILLIC_UPPER = "АБВГҐДЕЁЄЖЗИІЇЙКЛМНОПРСТУЎФХЦЧШЩЪЫЬЭЮЯ"
CYRILLIC_LOWER = "абвгґдеёєжзиіїйклмнопрстуўфхцчшщъыьэюя"
LETTERS = "a-zа-яёєіїґў"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _json(mapping: dict[str, str]) -> str:
    return _quote(json.dumps(mapping, ensure_ascii=False, sort_keys=True)) + "::jsonb"


def _normalised(value: str) -> str:
    """Lower case, no accents or apostrophes, ordinal endings gone, digits apart from letters."""
    text = (
        f"lower(public.unaccent('public.unaccent'::regdictionary, "
        f"translate({value}, '{CYRILLIC_UPPER}', '{CYRILLIC_LOWER}')))"
    )
    for pattern, replacement in [
        ("['’ʼ`]", ""),
        (f"(\\d)(st|nd|rd|th)(?![{LETTERS}])", "\\1"),
        (f"(\\d)\\s*[-‐–]\\s*[{LETTERS}]{{1,3}}(?![{LETTERS}])", "\\1"),
        (f"(\\d)(й|я|го)(?![{LETTERS}])", "\\1"),
        # "Air Assault" is the airborne kind ("десантно-штурмова"); an air force is not.
        ("(^|[^a-z])air[ -]+assault", "\\1airborne assault"),
        # "воздушно-десантный" is airborne, as "десантный" alone; "воздушный" alone is air.
        ("(воздушно|повітряно)[ -]*(десант)", "\\2"),
        ("(\\d)(\\D)", "\\1 \\2"),
        ("(\\D)(\\d)", "\\1 \\2"),
    ]:
        text = f"regexp_replace({text}, {_quote(pattern)}, {_quote(replacement)}, 'g')"
    return text


# A word's words: itself in WORDS, or its longest prefix in STEMS, or its name key.
UNIT_KEY = f"""
CREATE OR REPLACE FUNCTION itk_unit_key(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
AS $$
SELECT coalesce(nullif(string_agg(DISTINCT word, ' ' ORDER BY word), ''), public.itk_name_key(value))
FROM regexp_split_to_table({_normalised("value")}, '[^0-9{LETTERS}]+') AS token
CROSS JOIN LATERAL regexp_split_to_table(coalesce(
    {_json(WORDS)} ->> token,
    (SELECT {_json(STEMS)} ->> left(token, n)
     FROM generate_series(length(token), 2, -1) AS n
     WHERE {_json(STEMS)} ? left(token, n)
     LIMIT 1),
    public.itk_name_key(token)), ' ') AS word
WHERE token <> '' AND word <> ''
$$
"""
