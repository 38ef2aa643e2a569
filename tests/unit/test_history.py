"""History replay (app/events/history.py): an event rebuilt from its revisions' diffs alone
is the event the writes made. The oracle applies each write to a plain record; replay sees
only the revisions, as the service writes them (the whole event first, then {"from", "to"}
per changed field, and the sources' own added / moved / moved_in)."""

import datetime as dt
import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.events.history import EventState, mentioned_keys, replay, with_key_names
from app.events.schemas import RevisionOut
from app.events.taxonomy import SUB_EVENT_TYPES
from tests.unit.properties import PROPERTY

EVENT_ID = uuid.UUID("5b0c6f0e-5d55-4c4e-9b1e-3f0d7f6f2a11")
ANALYST = uuid.UUID("9a4f1c3e-0000-4000-8000-000000000001")
VERIFIER = uuid.UUID("9a4f1c3e-0000-4000-8000-000000000002")
ADMIN = uuid.UUID("9a4f1c3e-0000-4000-8000-000000000003")
START = dt.datetime(2025, 3, 18, 9, 0, tzinfo=dt.UTC)


def _source(actor: uuid.UUID, at: dt.datetime, name: str = "ISW") -> dict[str, Any]:
    """A source as a revision records it (SourceOut in JSON, without the key's name)."""
    return {
        "id": str(uuid.uuid4()),
        "source_name": name,
        "url": "https://example.org/a",
        "published_at": "2025-03-18T09:00:00Z",
        "stance": "supports",
        "excerpt": "Attempted cross-border advance repelled.",
        "reliability": "F",
        "credibility": "6",
        "language": "ru",
        "added_by": str(actor),
        "added_at": at.isoformat(),
    }


def _unit(name: str, side: str = "UA", role: str | None = None) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "name": name, "side": side, "role": role}


def _created(actor: uuid.UUID = ANALYST, at: dt.datetime = START) -> dict[str, Any]:
    """The whole event, as the create revision records it."""
    return {
        "status": "claimed",
        "event_date": "2025-03-01",
        "date_precision": "month",
        "event_type": "battles",
        "sub_event_type": "armed_clash",
        "country": "RU",
        "region_code": "RU-BEL",
        "place_id": None,
        "location_name": "Demidovka",
        "lat": 50.95,
        "lon": 35.55,
        "geo_precision": "near",
        "units": [_unit("225th Separate Assault Regiment")],
        "sources": [_source(actor, at, "Ministry of Defence of Russia")],
        "fatalities": None,
        "summary": "Claimed cross-border advance, reported repelled.",
        "tags": ["cross-border"],
        "external_id": None,
        "external_source": None,
        "deleted_at": None,
    }


def _revision(
    number: int, action: str, actor: uuid.UUID, at: dt.datetime, diff: dict[str, Any]
) -> RevisionOut:
    return RevisionOut(
        revision=number, action=action, actor=actor, at=at, rationale=None, diff=diff
    )


def _expected(record: dict[str, Any], revisions: list[RevisionOut]) -> EventState:
    """The record the writes made, with what every rebuilt event carries about its revisions."""
    return EventState.model_validate(
        {
            "merged_into": None,
            **record,
            "version": revisions[-1].revision,
            "created_by": revisions[0].actor,
            "created_at": revisions[0].at,
            "updated_by": revisions[-1].actor,
            "updated_at": revisions[-1].at,
        }
    )


def _change(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """A field-by-field diff, as the service writes one for an update."""
    return {
        name: {"from": before.get(name), "to": value}
        for name, value in after.items()
        if before.get(name) != value
    }


# ---------------------------------------------------------------- examples


def test_one_revision_is_the_event_as_created():
    created = _created()
    revisions = [_revision(1, "create", ANALYST, START, created)]
    rebuilt = replay(EVENT_ID, revisions)
    assert (rebuilt.event_id, rebuilt.revision, rebuilt.action) == (EVENT_ID, 1, "create")
    assert (rebuilt.actor, rebuilt.at) == (ANALYST, START)
    assert rebuilt.state == _expected(created, revisions)
    assert rebuilt.state.location_name == "Demidovka"
    assert rebuilt.state.sources[0].source_name == "Ministry of Defence of Russia"


def test_an_imported_event_takes_its_defaults_and_its_sources_the_revisions_key_and_time():
    """Imports record what the row gave: no status, no tombstone, tags maybe null, and
    sources with their ids only."""
    row = _created()
    for name in ("status", "deleted_at"):
        del row[name]
    row["tags"] = None
    row["sources"] = [
        {k: v for k, v in row["sources"][0].items() if k not in ("added_by", "added_at")}
    ]
    rebuilt = replay(EVENT_ID, [_revision(1, "import", ADMIN, START, row)]).state
    assert rebuilt.status == "claimed"
    assert rebuilt.deleted_at is None
    assert rebuilt.merged_into is None
    assert rebuilt.tags == []
    [source] = rebuilt.sources
    assert (source.added_by, source.added_at) == (ADMIN, START)
    assert str(source.id) == row["sources"][0]["id"]


def test_a_life_of_edits_sources_judgement_merge_and_unmerge():
    record = _created()
    at = [START + dt.timedelta(hours=n) for n in range(8)]
    revisions = [_revision(1, "create", ANALYST, at[0], dict(record))]

    patched = record | {"fatalities": 2, "summary": "Advance repelled near Demidovka."}
    revisions.append(_revision(2, "update", ANALYST, at[1], _change(record, patched)))
    record = patched

    added = _source(VERIFIER, at[2], "Kommersant")
    revisions.append(_revision(3, "source_added", VERIFIER, at[2], {"sources": {"added": added}}))
    record = record | {"sources": [*record["sources"], added]}

    revisions.append(
        _revision(4, "status", VERIFIER, at[3], {"status": {"from": "claimed", "to": "verified"}})
    )
    record = record | {"status": "verified"}

    # another event merged into this one: its sources and units come in; a note names it
    brought = [_source(ANALYST, at[0], "ISW")]
    units = [*record["units"], _unit("Akhmat", "RU")]
    merged_from = str(uuid.uuid4())
    revisions.append(
        _revision(
            5,
            "merge",
            ANALYST,
            at[4],
            {
                "merged_from": merged_from,
                "sources": {"moved_in": brought},
                "units": {"from": record["units"], "to": units},
            },
        )
    )
    record = record | {"sources": [*record["sources"], *brought], "units": units}
    assert replay(EVENT_ID, revisions).state == _expected(record, revisions)

    # and unmerged: they go back
    revisions.append(
        _revision(
            6,
            "unmerge",
            ADMIN,
            at[5],
            {
                "sources": {"moved": [brought[0]["id"]]},
                "units": {"from": units, "to": units[:1]},
            },
        )
    )
    record = record | {"sources": record["sources"][:2], "units": units[:1]}
    rebuilt = replay(EVENT_ID, revisions)
    assert rebuilt.state == _expected(record, revisions)
    assert (rebuilt.revision, rebuilt.action, rebuilt.actor) == (6, "unmerge", ADMIN)
    assert [s.source_name for s in rebuilt.state.sources] == [
        "Ministry of Defence of Russia",
        "Kommersant",
    ]
    assert (rebuilt.state.created_by, rebuilt.state.updated_by) == (ANALYST, ADMIN)
    # every prefix is the event as it stood then
    assert replay(EVENT_ID, revisions[:4]).state.status == "verified"
    assert replay(EVENT_ID, revisions[:2]).state.fatalities == 2
    assert replay(EVENT_ID, revisions[:1]).state.fatalities is None


def test_a_merged_away_event_is_a_tombstone_naming_its_survivor():
    record = _created()
    survivor = uuid.uuid4()
    gone_at = START + dt.timedelta(days=1)
    revisions = [
        _revision(1, "create", ANALYST, START, dict(record)),
        _revision(
            2,
            "merged_into",
            ANALYST,
            gone_at,
            {
                "merged_into": {"from": None, "to": str(survivor)},
                "deleted_at": {"from": None, "to": gone_at.isoformat()},
                "sources": {"moved": [source["id"] for source in record["sources"]]},
                "units": {"from": record["units"], "to": []},
            },
        ),
    ]
    state = replay(EVENT_ID, revisions).state
    assert state.merged_into == survivor
    assert state.deleted_at == gone_at
    assert state.sources == []
    assert state.units == []
    assert state.summary == record["summary"]  # its own fields stay, for its creator


def test_no_revisions_is_a_value_error():
    with pytest.raises(ValueError, match="at least one revision"):
        replay(EVENT_ID, [])


def test_the_keys_a_rebuilt_event_names_and_their_names():
    record = _created(ANALYST)
    added = _source(VERIFIER, START, "Kommersant")
    rebuilt = replay(
        EVENT_ID,
        [
            _revision(1, "create", ANALYST, START, record),
            _revision(2, "source_added", VERIFIER, START, {"sources": {"added": added}}),
            _revision(3, "status", ADMIN, START, {"status": {"from": "claimed", "to": "refuted"}}),
        ],
    )
    assert mentioned_keys(rebuilt) == {ANALYST, VERIFIER, ADMIN}
    named = with_key_names(rebuilt, {ANALYST: "analyst", VERIFIER: "verifier"})
    assert (named.state.created_by_name, named.state.updated_by_name) == ("analyst", None)
    assert [s.added_by_name for s in named.state.sources] == ["analyst", "verifier"]
    assert rebuilt.state.created_by_name is None  # the original is left as it was


# ---------------------------------------------------------------- random lives

SUB_EVENT_TYPE_NAMES = sorted({sub for subs in SUB_EVENT_TYPES.values() for sub in subs})
units = st.lists(
    st.builds(
        _unit,
        st.sampled_from(["225th Separate Assault Regiment", "47 ОМБр", "Akhmat", "1009 МСП"]),
        st.sampled_from(["UA", "RU"]),
        st.sampled_from([None, "attacker", "defender"]),
    ),
    max_size=3,
)
FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "event_date": st.dates(dt.date(2014, 1, 1), dt.date(2025, 12, 31)).map(dt.date.isoformat),
    "date_precision": st.sampled_from(["day", "week", "month"]),
    "event_type": st.sampled_from(sorted(SUB_EVENT_TYPES)),
    "sub_event_type": st.sampled_from(SUB_EVENT_TYPE_NAMES),
    "country": st.sampled_from(["RU", "UA", "BY"]),
    "region_code": st.sampled_from([None, "RU-BEL", "RU-KRS", "UA-59"]),
    "place_id": st.none() | st.uuids().map(str),
    "location_name": st.sampled_from([None, "Demidovka", "Демидовка", "Krasnopillia"]),
    "lat": st.none() | st.floats(-90, 90),
    "lon": st.none() | st.floats(-180, 180),
    "geo_precision": st.sampled_from(["exact", "near", "region"]),
    "units": units,
    "fatalities": st.none() | st.integers(0, 1_000_000),
    "summary": st.none() | st.text(max_size=30),
    "tags": st.lists(st.sampled_from(["cross-border", "shelling", "drone"]), max_size=3),
    "external_id": st.none() | st.sampled_from(["RUS12345", "UKR777"]),
    "external_source": st.none() | st.just("acled"),
}
ACTORS = st.sampled_from([ANALYST, VERIFIER, ADMIN])


def _write(draw: st.DrawFn, record: dict[str, Any], at: dt.datetime) -> tuple[str, dict, dict]:
    """One write the service can make to this event: (action, diff, record after it)."""
    kinds = ["update", "status", "source_added"]
    if record["deleted_at"] is None:
        kinds += ["delete", "merged_into", "merge", "unmerge"]
    elif record.get("merged_into") is None:
        kinds.append("restore")
    else:
        kinds.append("unmerged")
    kind = draw(st.sampled_from(kinds))
    if kind == "update":
        names = draw(st.sets(st.sampled_from(sorted(FIELDS)), min_size=1))
        after = record | {name: draw(FIELDS[name]) for name in names}
        return kind, _change(record, after), after
    if kind == "status":
        to = draw(st.sampled_from(["claimed", "verified", "disputed", "refuted"]))
        return kind, {"status": {"from": record["status"], "to": to}}, record | {"status": to}
    if kind == "source_added":
        added = _source(draw(ACTORS), at, draw(st.sampled_from(["ISW", "DeepState", "ТАСС"])))
        return (
            kind,
            {"sources": {"added": added}},
            record | {"sources": [*record["sources"], added]},
        )
    if kind == "delete":
        stamp = at.isoformat()
        return kind, {"deleted_at": {"from": None, "to": stamp}}, record | {"deleted_at": stamp}
    if kind == "restore":
        diff = {"deleted_at": {"from": record["deleted_at"], "to": None}}
        return kind, diff, record | {"deleted_at": None}
    if kind == "merged_into":
        survivor, stamp = str(uuid.uuid4()), at.isoformat()
        diff = {
            "merged_into": {"from": None, "to": survivor},
            "deleted_at": {"from": None, "to": stamp},
            "sources": {"moved": [source["id"] for source in record["sources"]]},
            **({"units": {"from": record["units"], "to": []}} if record["units"] else {}),
        }
        after = record | {"merged_into": survivor, "deleted_at": stamp, "sources": [], "units": []}
        return kind, diff, after
    if kind == "unmerged":
        back = [_source(ANALYST, at) for _ in range(draw(st.integers(0, 2)))]
        back_units = draw(units)
        diff = {
            "merged_into": {"from": record["merged_into"], "to": None},
            "deleted_at": {"from": record["deleted_at"], "to": None},
            "sources": {"moved_in": back},
            **({"units": {"from": [], "to": back_units}} if back_units else {}),
        }
        after = record | {
            "merged_into": None,
            "deleted_at": None,
            "sources": [*record["sources"], *back],
            "units": back_units or record["units"],
        }
        return kind, diff, after
    if kind == "merge":
        brought = [_source(draw(ACTORS), at) for _ in range(draw(st.integers(0, 3)))]
        new_units = draw(units)
        diff = {"merged_from": str(uuid.uuid4()), "sources": {"moved_in": brought}}
        if new_units:
            diff["units"] = {"from": record["units"], "to": [*record["units"], *new_units]}
        after = record | {
            "sources": [*record["sources"], *brought],
            "units": [*record["units"], *new_units],
        }
        return kind, diff, after
    # unmerge: some of its sources (those a merge brought) go back, and units with them
    leaving = draw(st.sets(st.sampled_from([s["id"] for s in record["sources"]]))
                   if record["sources"] else st.just(set()))  # fmt: skip
    kept_units = record["units"][: draw(st.integers(0, len(record["units"])))]
    diff = {"sources": {"moved": sorted(leaving)}}
    if kept_units != record["units"]:
        diff["units"] = {"from": record["units"], "to": kept_units}
    after = record | {
        "sources": [s for s in record["sources"] if s["id"] not in leaving],
        "units": kept_units,
    }
    return kind, diff, after


@st.composite
def lives(draw: st.DrawFn) -> tuple[list[RevisionOut], list[dict[str, Any]]]:
    """Revisions of one event and, after each, the record the writes made."""
    creator = draw(ACTORS)
    record = _created(creator) | {name: draw(FIELDS[name]) for name in draw(
        st.sets(st.sampled_from(sorted(FIELDS))))}  # fmt: skip
    revisions = [_revision(1, "create", creator, START, dict(record))]
    records = [record]
    for number in range(2, draw(st.integers(1, 25)) + 1):
        at = START + dt.timedelta(minutes=number)
        action, diff, record = _write(draw, record, at)
        if not diff:
            continue  # an update that changed nothing writes no revision
        revisions.append(_revision(len(revisions) + 1, action, draw(ACTORS), at, diff))
        records.append(record)
    return revisions, records


@PROPERTY
@given(lives())
def test_replaying_any_life_gives_the_event_after_each_write(
    life: tuple[list[RevisionOut], list[dict[str, Any]]],
):
    revisions, records = life
    for count in range(1, len(revisions) + 1):
        rebuilt = replay(EVENT_ID, revisions[:count])
        assert rebuilt.state == _expected(records[count - 1], revisions[:count]), count
        assert (rebuilt.revision, rebuilt.action) == (count, revisions[count - 1].action)
