"""Import parsing (app/imports/parsing.py): NDJSON bodies cut into lines (each at most 8 MiB),
CSV bodies cut into records (ours or ACLED's columns), each line or record turned into a
staging row or the errors that name what is wrong with it."""

import codecs
import csv
import io
import json
import uuid
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.imports.parsing import (
    MAX_LINE_BYTES,
    STAGING_COLUMNS,
    TOO_LONG,
    CsvRecords,
    CsvSyntaxError,
    LineTooLong,
    NdjsonLines,
    RowError,
    country_code,
    csv_layout,
    csv_row,
    ndjson_row,
)
from tests.unit.properties import PROPERTY

MIB = 1024 * 1024


def _cut(data: bytes, cuts: list[int]) -> list[bytes]:
    """data in pieces at the given offsets (as a body streams in)."""
    points = sorted({min(cut, len(data)) for cut in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


def _lines(chunks: list[bytes]) -> list[bytes | LineTooLong]:
    splitter = NdjsonLines()
    lines: list[bytes | LineTooLong] = []
    for chunk in chunks:
        lines += splitter.feed(chunk)
    return lines + splitter.feed(b"", final=True)


def _records(chunks: list[bytes]) -> list[list[str]]:
    splitter = CsvRecords()
    records: list[list[str]] = []
    for chunk in chunks:
        records += splitter.feed(chunk)
    return records + splitter.feed(b"", final=True)


def _staged(row: tuple[Any, ...]) -> dict[str, Any]:
    staged = dict(zip(STAGING_COLUMNS, row, strict=True))
    staged["units"] = orjson.loads(staged["units"])
    staged["sources"] = orjson.loads(staged["sources"])
    return staged


def _row_errors(call: Any, *args: Any) -> list[dict[str, Any]]:
    with pytest.raises(RowError) as caught:
        call(*args)
    return caught.value.errors


# ---------------------------------------------------------------- NDJSON lines

# Line text without the line ends str.splitlines() knows beyond \n (\r, \v, \f, \x1c-\x1e,
# \x85, \u2028, \u2029): for such text, NDJSON's lines are exactly str.splitlines()'s.
line_text = st.text(
    st.characters(
        exclude_categories=["Cs"],
        exclude_characters="\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029",
    )
)


@PROPERTY
@given(st.lists(line_text), st.booleans(), st.lists(st.integers(0, 400)))
def test_ndjson_lines_are_str_splitlines_however_the_body_is_cut(
    lines: list[str], final_newline: bool, cuts: list[int]
):
    text = "\n".join(lines) + ("\n" if final_newline and lines else "")
    body = text.encode()
    assert _lines(_cut(body, cuts)) == [line.encode() for line in text.splitlines()]


def test_a_crlf_line_keeps_its_cr_and_still_parses():
    body = json.dumps(_event()).encode()
    [line] = _lines([body + b"\r\n"])
    assert line == body + b"\r"
    assert _staged(ndjson_row(1, line))["event_date"].isoformat() == "2025-03-18"


def test_a_line_of_exactly_8_mib_is_kept():
    line = b"x" * MAX_LINE_BYTES
    assert _lines(_cut(line + b"\n" + b"next", list(range(0, MAX_LINE_BYTES, MIB)))) == [
        line,
        b"next",
    ]


@pytest.mark.parametrize("chunk", [64 * 1024, MIB, 9 * MIB])
def test_a_longer_line_is_too_long_and_its_neighbours_are_whole(chunk: int):
    body = b"before\n" + b"x" * (MAX_LINE_BYTES + 1) + b"\nafter\n" + b"y" * (9 * MIB)
    lines = _lines(_cut(body, list(range(chunk, len(body), chunk))))
    assert lines == [b"before", TOO_LONG, b"after", TOO_LONG]
    assert TOO_LONG.message == "the line is longer than 8 MiB"


# ---------------------------------------------------------------- CSV records

csv_field = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"))


@PROPERTY
@given(
    st.lists(st.lists(csv_field, min_size=1, max_size=5), max_size=8),
    st.sampled_from(["\r\n", "\n"]),
    st.booleans(),
    st.lists(st.integers(0, 300)),
)
def test_csv_records_are_the_csv_modules_however_the_body_is_cut(
    rows: list[list[str]], line_end: str, bom: bool, cuts: list[int]
):
    """Quoted fields holding commas, quotes and line ends; a BOM; cuts anywhere, even
    inside a UTF-8 character: the records are those csv.reader reads from the whole text."""
    text = io.StringIO()
    csv.writer(text, lineterminator=line_end).writerows(rows)
    body = (codecs.BOM_UTF8 if bom else b"") + text.getvalue().encode()
    expected = list(csv.reader(io.StringIO(text.getvalue(), newline="")))
    assert _records(_cut(body, cuts)) == expected
    if line_end == "\r\n":  # then the writer quotes every line end, and rows read back
        assert expected == rows


def test_csv_line_ends_of_every_kind_and_blank_lines():
    body = b"a,b\r\n\r\n1,2\n\n3,4\r5,6"
    # a blank line is an empty record: the import counts it, as a spreadsheet shows it
    assert _records([body]) == [["a", "b"], [], ["1", "2"], [], ["3", "4"], ["5", "6"]]


def test_an_unclosed_quote_is_not_csv_once_it_runs_past_8_mib():
    splitter = CsvRecords()
    assert splitter.feed(b'a,b\n1,"never closed\n') == [["a", "b"]]
    for _ in range(7):  # up to 8 MiB, a record may still be coming
        assert splitter.feed(b"x" * MIB) == []
    with pytest.raises(CsvSyntaxError, match="runs past 8 MiB"):
        splitter.feed(b"x" * MIB)


# ---------------------------------------------------------------- rows: NDJSON


def _event(**changes: Any) -> dict[str, Any]:
    return {
        "event_date": "2025-03-18",
        "event_type": "battles",
        "sub_event_type": "armed_clash",
        "country": "RU",
        "region_code": "RU-BEL",
        "location_name": "Demidovka",
        "lat": 50.95,
        "lon": 35.55,
        "units": [{"name": "225 ОШП", "side": "UA", "role": "attacker"}],
        "sources": [{"source_name": "Ministry of Defence of Russia", "reliability": "F"}],
        "tags": ["cross-border"],
        **changes,
    }


def test_an_ndjson_line_is_a_staging_row():
    staged = _staged(ndjson_row(7, json.dumps(_event(date_precision="week")).encode()))
    assert staged["line"] == 7
    assert staged["event_date"].isoformat() == "2025-03-17"  # the Monday of its week
    assert (staged["date_precision"], staged["country"], staged["region_code"]) == (
        "week",
        "RU",
        "RU-BEL",
    )
    assert staged["geo_precision"] == "exact"  # coordinates and no precision given
    assert staged["units"] == [{"name": "225 ОШП", "side": "UA", "role": "attacker"}]
    [source] = staged["sources"]
    assert uuid.UUID(source["id"])  # chosen here, so the revision names it as the table does
    assert (source["source_name"], source["reliability"], source["credibility"]) == (
        "Ministry of Defence of Russia",
        "F",
        "6",
    )


def test_the_country_comes_from_the_region_and_the_precision_from_the_coordinates():
    staged = _staged(
        ndjson_row(
            1, json.dumps(_event(country=None, region_code="UA-59", lat=None, lon=None)).encode()
        )
    )
    assert (staged["country"], staged["geo_precision"]) == ("UA", "region")


@pytest.mark.parametrize(
    ("line", "loc"),
    [
        (b"{not json", []),
        (b"[]", []),
        (json.dumps(_event(event_date="18.03.2025")).encode(), ["event_date"]),
        (json.dumps(_event(sub_event_type="grenade")).encode(), []),  # not a kind of battle
        (json.dumps(_event(lat=91)).encode(), ["lat"]),
        (json.dumps(_event(fatalities=True)).encode(), ["fatalities"]),
        (json.dumps(_event(sources=[])).encode(), ["sources"]),
        (json.dumps(_event(colour="red")).encode(), ["colour"]),
        (json.dumps(_event(country=None, region_code=None)).encode(), ["country"]),
    ],
)
def test_a_bad_ndjson_line_names_what_is_wrong(line: bytes, loc: list[Any]):
    errors = _row_errors(ndjson_row, 3, line)
    assert errors
    assert all(set(error) == {"loc", "msg"} and error["msg"] for error in errors)
    assert errors[0]["loc"] == loc


# ---------------------------------------------------------------- rows: CSV

# ACLED's export columns, as its data export tool writes them.
ACLED_HEADER = [
    "event_id_cnty", "event_date", "year", "time_precision", "disorder_type", "event_type",
    "sub_event_type", "actor1", "assoc_actor_1", "inter1", "actor2", "assoc_actor_2", "inter2",
    "interaction", "civilian_targeting", "iso", "region", "country", "admin1", "admin2",
    "admin3", "location", "latitude", "longitude", "geo_precision", "source", "source_scale",
    "notes", "fatalities", "tags", "timestamp",
]  # fmt: skip
DEMIDOVKA_ACLED = {
    "event_id_cnty": "RUS12345", "event_date": "18 March 2025", "year": "2025",
    "time_precision": "1", "disorder_type": "Political violence", "event_type": "Battles",
    "sub_event_type": "Armed clash", "actor1": "Military Forces of Ukraine (2019-)",
    "assoc_actor_1": "", "inter1": "8", "actor2": "Military Forces of Russia (2000-)",
    "assoc_actor_2": "", "inter2": "8", "interaction": "88", "civilian_targeting": "",
    "iso": "643", "region": "Europe", "country": "Russia", "admin1": "Belgorod",
    "admin2": "Krasnoyaruzhskiy", "admin3": "", "location": "Demidovka", "latitude": "50.95",
    "longitude": "35.55", "geo_precision": "2",
    "source": "Ministry of Defence of Russia; Kommersant", "source_scale": "National",
    "notes": "Attempted advance, repelled.", "fatalities": "0", "tags": "",
    "timestamp": "1742300000",
}  # fmt: skip


def _acled(line: int = 2, **changes: str) -> dict[str, Any]:
    record = {**DEMIDOVKA_ACLED, **changes}
    return _staged(csv_row(line, "acled", ACLED_HEADER, [record[c] for c in ACLED_HEADER]))


def test_layouts():
    assert csv_layout(ACLED_HEADER) == "acled"
    assert (
        csv_layout(["event_date", "event_type", "sub_event_type", "country", "sources"]) == "ours"
    )
    assert csv_layout([" event_date ", "id", "status", "version", "region_name"]) == "ours"
    errors = _row_errors(csv_layout, ["event_date", "when", "colour", "country"])
    assert errors == [
        {"loc": ["header", "colour"], "msg": "unknown column"},
        {"loc": ["header", "when"], "msg": "unknown column"},
    ]


def test_an_acled_record_is_a_staging_row():
    staged = _acled(line=5)
    assert staged["line"] == 5
    assert (staged["external_source"], staged["external_id"]) == ("acled", "RUS12345")
    assert staged["event_date"].isoformat() == "2025-03-18"
    assert (staged["date_precision"], staged["event_type"], staged["sub_event_type"]) == (
        "day",
        "battles",
        "armed_clash",
    )
    assert (staged["country"], staged["region_code"], staged["region_name"]) == (
        "RU",
        None,
        "Belgorod",  # admin1, resolved to a region code in SQL
    )
    assert (staged["location_name"], staged["lat"], staged["lon"]) == ("Demidovka", 50.95, 35.55)
    assert (staged["geo_precision"], staged["fatalities"]) == ("near", 0)
    assert staged["summary"] == "Attempted advance, repelled."
    assert staged["tags"] == []
    assert staged["units"] == [
        {"name": "Military Forces of Ukraine (2019-)", "side": "unknown", "role": None},
        {"name": "Military Forces of Russia (2000-)", "side": "unknown", "role": None},
    ]
    assert [s["source_name"] for s in staged["sources"]] == [
        "Ministry of Defence of Russia",
        "Kommersant",
    ]


@pytest.mark.parametrize("written", ["18 March 2025", "18-March-2025", "18/03/2025", "2025-03-18"])
def test_acled_dates_as_acled_writes_them(written: str):
    assert _acled(event_date=written)["event_date"].isoformat() == "2025-03-18"


@pytest.mark.parametrize(
    ("time_precision", "precision", "start"),
    [("1", "day", "2025-06-05"), ("2", "week", "2025-06-02"), ("3", "month", "2025-06-01")],
)
def test_acled_time_precision(time_precision: str, precision: str, start: str):
    staged = _acled(event_date="2025-06-05", time_precision=time_precision)
    assert (staged["date_precision"], staged["event_date"].isoformat()) == (precision, start)


def test_acled_shelling_in_ukraine_with_one_actor_and_exact_coordinates():
    staged = _acled(
        event_id_cnty="UKR777", event_type="Explosions/Remote violence",
        sub_event_type="Shelling/artillery/missile attack",
        actor1="Military Forces of Russia (2000-)", actor2="", country="Ukraine",
        admin1="Sumy", location="Krasnopillia", latitude="50.77", longitude="35.27",
        geo_precision="1", source="Sumy Regional Military Administration", fatalities="2",
        tags="crowd size=no report; local administrators",
    )  # fmt: skip
    assert (staged["event_type"], staged["sub_event_type"]) == (
        "explosions_remote_violence",
        "shelling_artillery_missile_attack",
    )
    assert (staged["country"], staged["region_name"], staged["geo_precision"]) == (
        "UA",
        "Sumy",
        "exact",
    )
    assert [u["name"] for u in staged["units"]] == ["Military Forces of Russia (2000-)"]
    assert staged["tags"] == ["crowd size=no report", "local administrators"]
    assert staged["fatalities"] == 2


@pytest.mark.parametrize(
    ("changes", "loc"),
    [
        ({"event_date": "March 18th"}, ["event_date"]),
        ({"time_precision": "4"}, ["date_precision"]),
        ({"event_type": "Skirmishes"}, ["event_type"]),
        ({"country": "Atlantis"}, ["country"]),
        ({"latitude": "north"}, ["lat"]),
        ({"fatalities": "-1"}, ["fatalities"]),
        ({"source": ""}, ["sources"]),
    ],
)
def test_a_bad_acled_record_names_the_field(changes: dict[str, str], loc: list[str]):
    record = {**DEMIDOVKA_ACLED, **changes}
    errors = _row_errors(csv_row, 4, "acled", ACLED_HEADER, [record[c] for c in ACLED_HEADER])
    assert [error["loc"] for error in errors] == [loc]


def test_a_record_with_another_number_of_fields_says_so():
    errors = _row_errors(csv_row, 4, "acled", ACLED_HEADER, ["RUS1", "2025-03-18"])
    assert errors == [{"loc": [], "msg": f"2 fields where the header has {len(ACLED_HEADER)}"}]


OUR_HEADER = ["id", "event_date", "date_precision", "event_type", "sub_event_type", "status",
              "country", "region_code", "region_name", "location_name", "lat", "lon", "units",
              "sources", "fatalities", "summary", "tags", "version"]  # fmt: skip


def test_our_csv_record_reads_units_sources_and_tags_back_and_skips_read_only_columns():
    record = [
        str(uuid.uuid4()), "2025-06-02", "day", "explosions_remote_violence",
        "shelling_artillery_missile_attack", "verified", "UA", "UA-59", "Sumy Oblast",
        "Krasnopillia", "50.77", "35.27", "47th Mechanized Brigade (UA); Akhmat (RU); 155 ОБрМП",
        "ISW [denies B2]; Kommersant [supports F6]; Telegram", "", 'Line one\nline "two"',
        "shelling; cross-border", "3",
    ]  # fmt: skip
    staged = _staged(csv_row(2, "ours", OUR_HEADER, record))
    assert staged["units"] == [
        {"name": "47th Mechanized Brigade", "side": "UA", "role": None},
        {"name": "Akhmat", "side": "RU", "role": None},
        {"name": "155 ОБрМП", "side": "unknown", "role": None},
    ]
    assert [(s["source_name"], s["stance"], s["reliability"], s["credibility"])
            for s in staged["sources"]] == [
        ("ISW", "denies", "B", "2"),
        ("Kommersant", "supports", "F", "6"),
        ("Telegram", "supports", "F", "6"),
    ]  # fmt: skip
    assert staged["tags"] == ["shelling", "cross-border"]
    assert staged["summary"] == 'Line one\nline "two"'
    assert (staged["fatalities"], staged["region_code"], staged["region_name"]) == (
        None,
        "UA-59",
        None,  # region_name is read-only in our layout: the code says where
    )
    assert staged["external_source"] is None


# ---------------------------------------------------------------- errors per line
# Line numbers are counted in app/imports/service.py's _stage, inside the COPY loop: it is
# tested here with a COPY that keeps rows in a list (there is no pure function to call).


class RowsKept:
    def __init__(self) -> None:
        self.rows: list[tuple[Any, ...]] = []

    async def write_row(self, row: tuple[Any, ...]) -> None:
        self.rows.append(row)


async def _stage(
    body: bytes, fmt: str, chunk: int = 7
) -> tuple[int, list[dict[str, Any]], list[int]]:
    from app.imports.service import _Errors, _stage

    async def chunks() -> Any:
        for start in range(0, len(body), chunk):
            yield body[start : start + chunk]

    errors, copy = _Errors(), RowsKept()
    rows = await _stage(chunks(), fmt, copy, errors)
    return rows, errors.report(), [row[STAGING_COLUMNS.index("line")] for row in copy.rows]


async def test_ndjson_errors_name_the_lines_of_the_file():
    good = json.dumps(_event()).encode()
    body = b"\n".join([good, b"", good, b"{broken", good, b"x" * (MAX_LINE_BYTES + 1), good, b""])
    rows, report, written = await _stage(body, "ndjson", chunk=MIB)
    assert rows == 6  # blank lines are no rows, but they are lines
    assert report == [
        {"line": 4, "errors": [{"loc": [], "msg": report[0]["errors"][0]["msg"]}]},
        {"line": 6, "errors": [{"loc": [], "msg": "the line is longer than 8 MiB"}]},
    ]
    assert "Invalid JSON" in report[0]["errors"][0]["msg"]
    assert written == [1, 3]  # once a line failed, nothing more is written


CSV_HEADER = b"event_date,event_type,sub_event_type,country,location_name,sources\n"


async def test_csv_errors_name_the_record_after_the_header_line():
    body = (
        CSV_HEADER
        + b"2025-06-02,battles,armed_clash,UA,Krasnopillia,ISW\n"
        + b'2025-06-02,battles,armed_clash,UA,"two\nlines",ISW\n'
        + b"2025-06-02,battles,grenade,UA,Krasnopillia,ISW\n"
        + b"2025-06-02,battles,armed_clash,UA\n"
    )
    rows, report, written = await _stage(body, "csv")
    assert rows == 4
    # the record with a line end in a quoted field is one row, as a spreadsheet shows it
    assert [item["line"] for item in report] == [4, 5]
    assert report[1]["errors"] == [{"loc": [], "msg": "4 fields where the header has 6"}]
    assert written == [2, 3]


async def test_csv_errors_after_a_blank_line_name_their_own_line():
    body = CSV_HEADER + b"\n" + b"2025-06-02,battles,grenade,UA,Krasnopillia,ISW\n"
    _, report, _ = await _stage(body, "csv")
    assert [item["line"] for item in report] == [3]


def test_error_reports_keep_the_first_thousand_lines_and_count_them_all():
    from app.imports.service import MAX_REPORTED_ERRORS, _Errors

    errors = _Errors()
    for line in range(2, MAX_REPORTED_ERRORS + 12):
        errors.add(line, [{"loc": ["country"], "msg": "required"}])
    errors.add(2, [{"loc": ["lat"], "msg": "too far north"}])  # a second error of a line
    report = errors.report()
    assert errors.count == MAX_REPORTED_ERRORS + 10
    assert [item["line"] for item in report] == list(range(2, MAX_REPORTED_ERRORS + 2))
    assert report[0]["errors"] == [
        {"loc": ["country"], "msg": "required"},
        {"loc": ["lat"], "msg": "too far north"},
    ]


def test_a_line_past_the_first_thousand_is_counted_once():
    from app.imports.service import MAX_REPORTED_ERRORS, _Errors

    errors = _Errors()
    for line in range(1, MAX_REPORTED_ERRORS + 2):
        errors.add(line, [{"loc": ["country"], "msg": "required"}])
        errors.add(line, [{"loc": ["region_code"], "msg": "unknown"}])
    assert errors.count == MAX_REPORTED_ERRORS + 1


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Russia", "RU"),
        ("Ukraine", "UA"),
        ("Democratic Republic of Congo", "CD"),
        ("Republic of Congo", "CG"),
        ("Ivory Coast", "CI"),
        ("Cote d'Ivoire", "CI"),
        ("Turkey", "TR"),
        ("Curacao", "CW"),  # a fuzzy search filed it under the Netherlands
        ("Saint-Barthelemy", "BL"),  # ... and this under France
        ("Reunion", "RE"),
        ("Saint Martin", "MF"),
        ("eSwatini", "SZ"),
        ("Czech Republic", "CZ"),
        ("Bosnia and Herzegovina", "BA"),
        ("Kosovo", "RS"),
        ("rus", "RU"),
    ],
)
def test_acled_country_names_are_iso_codes(name: str, code: str):
    assert country_code(name) == code


def test_a_country_name_no_country_has_is_none_however_long(monkeypatch: pytest.MonkeyPatch):
    """A dictionary look-up, never pycountry's fuzzy search (13 ms a name: a file of made-up
    names would keep a worker busy for hours; and a cache of them grew without bound)."""
    import pycountry

    def no_fuzzy_search(*args: Any) -> None:
        raise AssertionError("fuzzy search")

    monkeypatch.setattr(pycountry.countries, "search_fuzzy", no_fuzzy_search)
    for name in ("Nowhere 7", "Belgorod", "Z" * 5000, ""):
        assert country_code(name) is None
