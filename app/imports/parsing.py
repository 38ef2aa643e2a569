"""Turning NDJSON lines and CSV records (ours or ACLED's) into validated import rows.

Pure functions, no I/O: the service feeds them the request body as it streams in.
"""

import codecs
import csv
import datetime as dt
import io
import re
import unicodedata
import uuid
from functools import cache
from typing import Any

import orjson
import pycountry
from pydantic import ValidationError

from app.events import (
    ACLED_EVENT_TYPES,
    ACLED_SUB_EVENT_TYPES,
    CSV_COLUMNS,
    READ_ONLY_CSV_COLUMNS,
    STAGING_COLUMNS,
    TERRITORIAL_SUB_EVENT_TYPES,
    EventCreate,
    period_start,
)

LineErrors = list[dict[str, Any]]


class RowError(Exception):
    def __init__(self, errors: LineErrors) -> None:
        super().__init__(errors)
        self.errors = errors


class CsvSyntaxError(ValueError):
    """The bytes are not CSV at all (as opposed to a CSV row with bad values)."""


def _errors(exc: ValidationError) -> LineErrors:
    return [
        {"loc": list(error["loc"]), "msg": error["msg"]} for error in exc.errors(include_url=False)
    ]


def staging_row(line: int, event: EventCreate, region_name: str | None = None) -> tuple[Any, ...]:
    """One validated event as a staging row, in STAGING_COLUMNS order."""
    values = event.model_dump(exclude={"units", "sources"}) | {
        "line": line,
        "event_date": period_start(event.event_date, event.date_precision),
        "geo_precision": event.geo_precision or ("exact" if event.lat is not None else "region"),
        "country": event.country or (event.region_code[:2] if event.region_code else None),
        "region_name": region_name,
        "units": orjson.dumps([unit.model_dump() for unit in event.units]).decode(),
        "control": (
            None
            if event.control is None
            else orjson.dumps(event.control.model_dump(mode="json")).decode()
        ),
        # Ids chosen here, so the import's revision names each source as the table does.
        "sources": orjson.dumps(
            [{"id": str(uuid.uuid4()), **s.model_dump(mode="json")} for s in event.sources]
        ).decode(),
    }
    return tuple(values[column] for column in STAGING_COLUMNS)


def ndjson_row(line: int, raw: bytes) -> tuple[Any, ...]:
    """A staging row from one NDJSON line, or RowError."""
    try:
        event = EventCreate.model_validate_json(raw)
    except ValidationError as exc:
        raise RowError(_errors(exc)) from exc
    if event.country is None and event.region_code is None and event.place_id is None:
        raise RowError(
            [{"loc": ["country"], "msg": "country, region_code or place_id is required"}]
        )
    return staging_row(line, event)


# ---------------------------------------------------------------- CSV

OUR_CSV_COLUMNS = set(CSV_COLUMNS)
ACLED_KEY_COLUMN = "event_id_cnty"
EVENT_TYPES_BY_LABEL = {label.lower(): key for key, label in ACLED_EVENT_TYPES.items()}
SUB_EVENT_TYPES_BY_LABEL = {label.lower(): key for key, label in ACLED_SUB_EVENT_TYPES.items()}
UNIT = re.compile(r"^(?P<name>.+?)\s*\((?P<side>[^()]+)\)$")
QUOTE = re.compile('"')
SOURCE = re.compile(r"^(?P<name>.+?)\s*\[(?P<stance>\w+)\s+(?P<grade>[A-F][1-6])\]$")


class CsvRecords:
    """Splits streamed CSV bytes into whole records, even when quoted fields hold newlines."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self._pending = ""
        self._scanned = 0
        self._in_quotes = False

    def _last_boundary(self) -> int:
        """Index of the last newline outside quotes in the pending text, or -1."""
        text, in_quotes = self._pending, self._in_quotes
        boundary, outside_from = -1, None if in_quotes else self._scanned
        for match in QUOTE.finditer(text, self._scanned):
            if in_quotes:
                outside_from = match.end()
            elif outside_from is not None:
                found = text.rfind("\n", outside_from, match.start())
                boundary = found if found >= 0 else boundary
            in_quotes = not in_quotes
        if not in_quotes and outside_from is not None:
            found = text.rfind("\n", outside_from)
            boundary = found if found >= 0 else boundary
        self._in_quotes, self._scanned = in_quotes, len(text)
        return boundary

    def feed(self, chunk: bytes, final: bool = False) -> list[list[str]]:
        """The records completed by this chunk (all that is left, when final); a blank line
        is an empty record, so the caller can count it as a spreadsheet shows it."""
        self._pending += self._decoder.decode(chunk, final=final)
        if len(self._pending) > MAX_LINE_BYTES:
            raise CsvSyntaxError(
                f"a record runs past {MAX_LINE_BYTES // (1024 * 1024)} MiB (an unclosed quote?)"
            )
        if final:
            complete, self._pending = self._pending, ""
        else:
            boundary = self._last_boundary()
            if boundary < 0:
                return []
            complete, self._pending = self._pending[: boundary + 1], self._pending[boundary + 1 :]
            # The rest was scanned already; quote state at its end is kept.
            self._scanned = len(self._pending)
        try:
            # newline="": the csv module itself reads \r, \n and \r\n line ends.
            return list(csv.reader(io.StringIO(complete, newline="")))
        except csv.Error as exc:
            raise CsvSyntaxError(str(exc)) from exc


# The longest NDJSON line or CSV record read: an event at every limit of EventCreate (50
# sources with 20,000-character excerpts, escaped) stays well below it.
MAX_LINE_BYTES = 8 * 1024 * 1024


class LineTooLong:
    """Stands for a line (or CSV record) longer than MAX_LINE_BYTES, which is skipped."""

    message = f"the line is longer than {MAX_LINE_BYTES // (1024 * 1024)} MiB"


TOO_LONG = LineTooLong()


class NdjsonLines:
    """Splits streamed bytes into complete lines, in time linear in the input: a partial
    line is kept as pieces and joined once its end arrives; one that grows past
    MAX_LINE_BYTES is dropped as it streams and comes out as TOO_LONG."""

    def __init__(self) -> None:
        self._pieces: list[bytes] = []
        self._pending = 0
        self._too_long = False

    def _keep(self, piece: bytes) -> None:
        self._pending += len(piece)
        if self._pending > MAX_LINE_BYTES:
            self._too_long, self._pieces = True, []
        elif not self._too_long:
            self._pieces.append(piece)

    def _line(self) -> "bytes | LineTooLong":
        line = TOO_LONG if self._too_long else b"".join(self._pieces)
        self._pieces, self._pending, self._too_long = [], 0, False
        return line

    def feed(self, chunk: bytes, final: bool = False) -> "list[bytes | LineTooLong]":
        lines: list[bytes | LineTooLong] = []
        start = 0
        while (end := chunk.find(b"\n", start)) >= 0:
            self._keep(chunk[start:end])
            lines.append(self._line())
            start = end + 1
        self._keep(chunk[start:])
        if final and (self._pending or self._too_long):
            lines.append(self._line())
        return lines


# No country's name is longer (the longest ISO 3166 name has 52 characters).
COUNTRY_NAME_MAX = 80
# ACLED's names of countries ISO 3166 (pycountry) calls otherwise. ISO 3166-1 has no code for
# Kosovo: its rows are filed under RS, whose ISO 3166-2 subdivision RS-KM it is.
ACLED_COUNTRY_NAMES = {
    "Russia": "RU", "Democratic Republic of Congo": "CD", "Republic of Congo": "CG",
    "Ivory Coast": "CI", "Turkey": "TR", "Cape Verde": "CV", "East Timor": "TL",
    "Caribbean Netherlands": "BQ", "Brunei": "BN", "Macedonia": "MK", "Micronesia": "FM",
    "Palestine": "PS", "Vatican City": "VA", "Swaziland": "SZ", "Macau": "MO",
    "British Virgin Islands": "VG", "Kosovo": "RS",
}  # fmt: skip


def _country_key(name: str) -> str:
    """A country name without accents, case or punctuation ("Curaçao" = "curacao")."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^0-9a-z]+", " ", plain.casefold()).split())


@cache
def _country_codes() -> dict[str, str]:
    """Every name and code of every country (pycountry's, then ACLED's), by _country_key."""
    codes: dict[str, str] = {}
    for country in pycountry.countries:
        for attribute in ("alpha_2", "alpha_3", "name", "official_name", "common_name"):
            if value := getattr(country, attribute, None):
                codes[_country_key(value)] = country.alpha_2
    for country in pycountry.countries:  # "Saint Martin (French part)": "Saint Martin" too
        codes.setdefault(_country_key(re.sub(r"\(.*\)", "", country.name)), country.alpha_2)
    codes.update({_country_key(name): code for name, code in ACLED_COUNTRY_NAMES.items()})
    return codes


def country_code(name: str) -> str | None:
    """ISO alpha-2 for a country name as ACLED writes it: a dictionary look-up, the same
    small cost for any value (no fuzzy search: 13 ms a name, and it filed Curaçao under the
    Netherlands)."""
    if len(name) > COUNTRY_NAME_MAX:
        return None
    return _country_codes().get(_country_key(name))


def _date(value: str) -> str:
    value = value.strip()
    for pattern in ("%Y-%m-%d", "%d %B %Y", "%d-%B-%Y", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(value, pattern).date().isoformat()
        except ValueError:
            continue
    return value  # let validation say what is wrong


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(";") if part.strip()]


def _blank_to_none(record: dict[str, str]) -> dict[str, Any]:
    return {key: (value if value.strip() != "" else None) for key, value in record.items()}


def our_csv_event(record: dict[str, str]) -> dict[str, Any]:
    """Our own export's CSV columns back into an event body."""
    values = _blank_to_none(record)
    body = {
        key: value
        for key, value in values.items()
        if key not in READ_ONLY_CSV_COLUMNS
        and key not in {"units", "sources", "source_figures", "tags", "control"}
    }
    if control := values.get("control"):
        try:
            body["control"] = orjson.loads(control)
        except orjson.JSONDecodeError:
            raise RowError([{"loc": ["control"], "msg": "control is not a JSON object"}]) from None
    body["tags"] = _split(values.get("tags") or "")
    body["units"] = []
    for part in _split(values.get("units") or ""):
        match = UNIT.match(part)
        body["units"].append(
            {"name": match["name"], "side": match["side"]}
            if match
            else {"name": part, "side": "unknown"}
        )
    body["sources"] = []
    for part in _split(values.get("sources") or ""):
        match = SOURCE.match(part)
        if match:
            grade = match["grade"]
            body["sources"].append(
                {
                    "source_name": match["name"],
                    "stance": match["stance"],
                    "reliability": grade[0],
                    "credibility": grade[1],
                }
            )
        else:
            body["sources"].append({"source_name": part})
    if figures := values.get("source_figures"):
        try:
            listed = orjson.loads(figures)
        except orjson.JSONDecodeError:
            listed = None
        if not isinstance(listed, list) or len(listed) != len(body["sources"]):
            raise RowError(
                [{"loc": ["source_figures"], "msg": "source_figures is not a JSON list with an "
                  "item (or null) per source"}]
            )  # fmt: skip
        for source, claimed in zip(body["sources"], listed, strict=True):
            if claimed is not None:
                source["figures"] = claimed
    return body


def acled_event(record: dict[str, str]) -> tuple[dict[str, Any], str | None]:
    """An ACLED CSV record as an event body, and its admin1 name (resolved in SQL)."""
    values = _blank_to_none(record)
    precision = {"1": "day", "2": "week", "3": "month"}
    geo = {"1": "exact", "2": "near", "3": "region"}
    event_type = (values.get("event_type") or "").lower()
    sub_event_type = (values.get("sub_event_type") or "").lower()
    country = values.get("country")
    body: dict[str, Any] = {
        "external_id": values.get(ACLED_KEY_COLUMN),
        "external_source": "acled",
        "event_date": _date(values.get("event_date") or ""),
        "date_precision": precision.get(values.get("time_precision") or "1", "invalid"),
        "event_type": EVENT_TYPES_BY_LABEL.get(event_type, event_type),
        "sub_event_type": SUB_EVENT_TYPES_BY_LABEL.get(sub_event_type, sub_event_type),
        "country": (country_code(country) or country) if country else None,
        "location_name": values.get("location"),
        "lat": values.get("latitude"),
        "lon": values.get("longitude"),
        "geo_precision": geo.get(values.get("geo_precision") or ""),
        "summary": values.get("notes"),
        "fatalities": values.get("fatalities"),
        "tags": _split(values.get("tags") or ""),
        "units": [
            {"name": actor, "side": "unknown"}
            for actor in (values.get("actor1"), values.get("actor2"))
            if actor
        ],
        "sources": [{"source_name": name} for name in _split(values.get("source") or "")],
    }
    actor1, actor2 = values.get("actor1"), values.get("actor2")
    if body["sub_event_type"] in TERRITORIAL_SUB_EVENT_TYPES and actor1:
        # ACLED's actor 1 is the one that acts: it takes the event's location from actor 2.
        body["control"] = {
            "outcome": "taken",
            "side": actor1,
            "from_side": actor2 if actor2 and actor2.casefold() != actor1.casefold() else None,
        }
    return body, values.get("admin1")


def csv_layout(header: list[str]) -> str:
    """'acled' or 'ours'; RowError naming the unknown columns otherwise."""
    columns = {name.strip() for name in header}
    if ACLED_KEY_COLUMN in columns:
        return "acled"
    unknown = sorted(columns - OUR_CSV_COLUMNS)
    if unknown:
        raise RowError([{"loc": ["header", name], "msg": "unknown column"} for name in unknown])
    return "ours"


def csv_row(line: int, layout: str, header: list[str], record: list[str]) -> tuple[Any, ...]:
    """A staging row from one CSV record, or RowError."""
    if len(record) != len(header):
        raise RowError(
            [{"loc": [], "msg": f"{len(record)} fields where the header has {len(header)}"}]
        )
    values = dict(zip((name.strip() for name in header), record, strict=True))
    region_name = None
    if layout == "acled":
        body, region_name = acled_event(values)
    else:
        body = our_csv_event(values)
    try:
        event = EventCreate.model_validate(body)
    except ValidationError as exc:
        raise RowError(_errors(exc)) from exc
    if event.country is None and event.region_code is None and event.place_id is None:
        raise RowError(
            [{"loc": ["country"], "msg": "country, region_code or place_id is required"}]
        )
    return staging_row(line, event, region_name)
