"""Name keys and unit keys: SQL functions (rendered from migrations/name_keys.py and
migrations/unit_keys.py), so these tests call them on one plain psycopg connection to the
worker's database migrated to head (tests/conftest.py's test_url), and write nothing.

Place names meet through itk_name_key and pg_trgm similarity: the same transliteration is one
key; another romanisation is near enough for the place search (<<%) and the duplicate score
(similarity >= 0.5). Unit designations in English, Russian and Ukrainian meet on one
itk_unit_key exactly; other units never do."""

from collections.abc import Iterator

import psycopg
import pytest

from app.core.db import libpq_url
from tests.gazetteer.test_unit_keys import DESIGNATIONS, OTHERS

# The similarity at which the duplicate score takes two location names as one place
# (app/events/merging.py, app/events/repository.py).
SIMILAR_LOCATION = 0.5


@pytest.fixture(scope="module")
def db(test_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(libpq_url(test_url), autocommit=True) as conn:
        yield conn


def name_key(db: psycopg.Connection, name: str | None) -> str | None:
    row = db.execute("SELECT itk_name_key(%s)", [name]).fetchone()
    assert row is not None
    return row[0]


def unit_keys(db: psycopg.Connection, names: list[str]) -> dict[str, str]:
    rows = db.execute(
        "SELECT name, itk_unit_key(name) FROM unnest(%s::text[]) AS name", [names]
    ).fetchall()
    return dict(rows)


def place_match(db: psycopg.Connection, typed: str, stored: str) -> tuple[float, bool]:
    """(similarity of the keys, whether the place search's <<% takes one for the other)."""
    row = db.execute(
        "SELECT similarity(itk_name_key(%(typed)s), itk_name_key(%(stored)s)),"
        " itk_name_key(%(typed)s) <<%% itk_name_key(%(stored)s)",
        {"typed": typed, "stored": stored},
    ).fetchone()
    assert row is not None
    return float(row[0]), bool(row[1])


# ---------------------------------------------------------------- place names


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Demidovka", "demidovka"),
        ("Демидовка", "demidovka"),
        ("Demydivka", "demidivka"),  # the Ukrainian romanisation: near, not the same
        ("Демидівка", "demidivka"),
        ("Sudzha", "sudza"),
        ("Суджа", "sudza"),
        ("Krasnopillia", "krasnopilla"),
        ("Краснопілля", "krasnopilla"),
        ("Kharkiv", "garkiv"),
        ("Харків", "garkiv"),
        ("Zaporizhzhia", "zaporizza"),
        ("Запоріжжя", "zaporizza"),
        ("Bilhorod-Dnistrovskyi", "bilgorod dnistrovski"),
        ("Білгород-Дністровський", "bilgorod dnistrovski"),
        ("  Velyka   Pysarivka ", "velika pisarivka"),
        ("Велика Писарівка", "velika pisarivka"),
        ("Kyïv", "kiv"),  # accents go
        ("Київ", "kiv"),
    ],
)
def test_name_keys(db: psycopg.Connection, name: str, key: str):
    assert name_key(db, name) == key


def test_demidovka_in_every_spelling_is_one_place(db: psycopg.Connection):
    assert name_key(db, "Demidovka") == name_key(db, "Демидовка") == name_key(db, "DEMIDOVKA")
    for typed, stored in [("Demydivka", "Демидовка"), ("Демидовка", "Demydivka"),
                          ("Demydivka", "Demidovka"), ("Демидівка", "Demidovka")]:  # fmt: skip
        similarity, found = place_match(db, typed, stored)
        assert found, (typed, stored)
        assert similarity >= SIMILAR_LOCATION, (typed, stored, similarity)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Demidovka", "Popovka"),
        ("Demidovka", "Dmitrovka"),
        ("Demidovka", "Sudzha"),
        ("Sumy", "Suzemka"),
        ("Krasnopillia", "Krasnoyaruzhka"),
    ],
)
def test_other_places_do_not_meet(db: psycopg.Connection, one: str, other: str):
    assert name_key(db, one) != name_key(db, other)
    similarity, found = place_match(db, one, other)
    assert not found
    assert similarity < SIMILAR_LOCATION


def test_no_name_has_no_key_and_a_place_keys_all_its_names(db: psycopg.Connection):
    assert name_key(db, None) is None
    row = db.execute(
        "SELECT itk_names_key('Demidovka', ARRAY['Демидовка', 'Demydivka']),"
        " itk_names_key('Demidovka', NULL)"
    ).fetchone()
    assert row is not None
    assert row[0].split(" | ")[0] == "demidovka"
    assert set(row[0].split(" | ")) == {"demidovka", "demidivka"}
    assert row[1] == "demidovka"


# ---------------------------------------------------------------- unit designations


@pytest.mark.parametrize(
    ("designation", "key"),
    [
        ("225th Separate Assault Regiment", "225 assault regiment"),
        ("225 ОШП", "225 assault regiment"),
        ("225-й отдельный штурмовой полк", "225 assault regiment"),
        ("3ОШБр", "3 assault brigade"),  # digits apart from letters
        ("92-га окрема механізована бригада", "92 brigade mechanized"),
        ("92nd Mech Bde", "92 brigade mechanized"),
        ("1-го армейского корпуса", "1 army corps"),
        ("1st Army Corps", "1 army corps"),
        ("Ахмат", "agmat"),  # not in the vocabulary: spelled by the name key
        ("Akhmat", "agmat"),
        ("Separate Guards", "separate guards"),  # only dropped words: the name key
    ],
)
def test_unit_keys(db: psycopg.Connection, designation: str, key: str):
    assert unit_keys(db, [designation]) == {designation: key}


@pytest.mark.parametrize(
    ("name", "variants"),
    [(name, variants) for _, name, variants in DESIGNATIONS],
    ids=[name for _, name, _ in DESIGNATIONS],
)
def test_a_units_designations_in_english_russian_and_ukrainian_meet(
    db: psycopg.Connection, name: str, variants: list[str]
):
    keys = unit_keys(db, [name, *variants])
    assert {variant: keys[variant] for variant in variants} == dict.fromkeys(variants, keys[name])


def test_different_units_never_meet(db: psycopg.Connection):
    registered = [name for _, name, _ in DESIGNATIONS] + [name for _, name in OTHERS]
    keys = unit_keys(db, registered)
    assert len(set(keys.values())) == len(registered), keys
    every_spelling = unit_keys(db, [v for _, _, variants in DESIGNATIONS for v in variants])
    for _, other in OTHERS:
        assert keys[other] not in every_spelling.values(), other


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("225 ОШП", "225 ОШБ"),  # regiment, battalion
        ("80 ОДШБр", "80 ОМБр"),  # air assault, mechanized
        ("47 ОМБр", "147 ОМБр"),
        ("1st Guards Tank Army", "1st Tank Regiment"),
        ("3-тя окрема штурмова бригада", "3-й мотострелковый полк"),
        ("36-та окрема бригада морської піхоти", "36-я отдельная мотострелковая бригада"),
    ],
)
def test_other_designations_do_not_meet(db: psycopg.Connection, one: str, other: str):
    keys = unit_keys(db, [one, other])
    assert keys[one] != keys[other]


def test_a_unit_keys_its_name_and_every_alias(db: psycopg.Connection):
    row = db.execute(
        "SELECT itk_unit_keys('47th Separate Mechanized Brigade', ARRAY['47 ОМБр', 'Magura']),"
        " itk_unit_keys('Akhmat', NULL), itk_unit_key(NULL)"
    ).fetchone()
    assert row is not None
    assert row[0].split(" | ")[0] == "47 brigade mechanized"
    assert set(row[0].split(" | ")) == {"47 brigade mechanized", "magura"}
    assert row[1:] == ("agmat", None)
