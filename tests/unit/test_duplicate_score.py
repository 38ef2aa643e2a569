"""Duplicate scores (app/events/merging.py): how likely a nearby event reports the same
incident. Place 0.4 (same gazetteer place, or nearer, or a similar location name), date 0.3
(fewer days apart), sub-event type 0.2, and 0.1 for the event type every candidate shares."""

import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.events.merging import DUPLICATE_MAX_DAYS, DUPLICATE_MAX_KM, _duplicate_score
from app.events.models import Event
from tests.unit.properties import PROPERTY

DEMIDOVKA = uuid.UUID("5b0c6f0e-5d55-4c4e-9b1e-3f0d7f6f2a11")
POPOVKA = uuid.UUID("0c7d2e1a-8b3f-4d6e-9a5c-2f1e0d9c8b7a")


def _event(place_id: uuid.UUID | None = DEMIDOVKA) -> Event:
    return Event(
        event_type="battles",
        sub_event_type="armed_clash",
        region_code="RU-BEL",
        place_id=place_id,
    )


def _candidate(**row: Any) -> dict[str, Any]:
    """A row as repository.duplicate_candidates() gives it."""
    return {
        "id": uuid.uuid4(),
        "place_id": None,
        "distance_km": None,
        "location_similarity": None,
        "days_apart": 0,
        "sub_event_type": "armed_clash",
        **row,
    }


def test_the_same_place_day_and_kind_is_certain():
    score = _duplicate_score(_event(), _candidate(place_id=DEMIDOVKA, distance_km=0.0))
    assert score == (
        1.0,
        [
            "same event type (battles)",
            "same gazetteer place",
            "overlapping dates",
            "same sub-event type (armed_clash)",
        ],
    )


def test_distance_and_days_lower_the_score():
    # 0.1 + 0.4 * (1 - 2.5 / 10) + 0.3 * (1 - 4 / 8), another sub-event type
    score = _duplicate_score(
        _event(), _candidate(distance_km=2.5, days_apart=4, sub_event_type="grenade")
    )
    assert score == (
        0.55,
        ["same event type (battles)", "2.5 km apart", "4 day(s) apart"],
    )


def test_a_similar_location_name_stands_for_distance_when_either_has_no_coordinates():
    score = _duplicate_score(
        _event(place_id=None), _candidate(location_similarity=0.8, days_apart=2)
    )
    # 0.1 + 0.4 * 0.8 + 0.3 * (1 - 2 / 8) + 0.2
    assert score == (
        0.845,
        [
            "same event type (battles)",
            "similar location name in RU-BEL",
            "2 day(s) apart",
            "same sub-event type (armed_clash)",
        ],
    )


@pytest.mark.parametrize(
    "row",
    [
        {"distance_km": DUPLICATE_MAX_KM + 0.001},  # too far
        {"distance_km": 250.0},
        {"location_similarity": 0.49},  # names too different, and no coordinates
        {"location_similarity": None},  # nothing to say they are near
        {"place_id": POPOVKA},  # another place, and nothing else
    ],
)
def test_not_near_is_not_a_duplicate(row: dict[str, Any]):
    assert _duplicate_score(_event(), _candidate(**row)) is None


def test_a_place_of_its_own_is_not_the_same_place_when_the_event_has_none():
    """Two events without a gazetteer place do not meet on place_id None."""
    assert _duplicate_score(_event(place_id=None), _candidate(place_id=None)) is None


def test_the_edges_count():
    at_the_edge = _duplicate_score(_event(), _candidate(distance_km=DUPLICATE_MAX_KM))
    assert at_the_edge is not None
    assert at_the_edge[0] == 0.6  # place 0: 0.1 + 0 + 0.3 + 0.2
    similar_enough = _duplicate_score(_event(place_id=None), _candidate(location_similarity=0.5))
    assert similar_enough is not None
    assert similar_enough[0] == 0.8  # 0.1 + 0.2 + 0.3 + 0.2
    a_week_apart = _duplicate_score(_event(), _candidate(place_id=DEMIDOVKA, days_apart=7))
    assert a_week_apart is not None
    assert a_week_apart[0] == pytest.approx(0.7375, abs=0.0005)  # 0.1 + 0.4 + 0.3 / 8 + 0.2
    assert a_week_apart[1][2] == "7 day(s) apart"


def test_the_same_gazetteer_place_wins_over_coordinates():
    """Two reports placed on one gazetteer place, with coordinates apart (a village's
    centre and its edge), are at the same place."""
    score = _duplicate_score(_event(), _candidate(place_id=DEMIDOVKA, distance_km=9.0))
    assert score is not None
    assert score[0] == 1.0
    assert "same gazetteer place" in score[1]


candidates = st.builds(
    _candidate,
    place_id=st.sampled_from([None, DEMIDOVKA, POPOVKA]),
    distance_km=st.none() | st.floats(0, 20, allow_nan=False),
    location_similarity=st.none() | st.floats(0, 1, allow_nan=False),
    days_apart=st.integers(0, DUPLICATE_MAX_DAYS),
    sub_event_type=st.sampled_from(["armed_clash", "grenade"]),
)


@PROPERTY
@given(candidates, st.sampled_from([None, DEMIDOVKA]))
def test_scores_are_between_a_tenth_and_one(row: dict[str, Any], place_id: uuid.UUID | None):
    result = _duplicate_score(_event(place_id), row)
    if result is not None:
        score, reasons = result
        assert 0.1 <= score <= 1.0
        assert reasons[0] == "same event type (battles)"
        assert len(reasons) in (3, 4)


@PROPERTY
@given(
    st.floats(0, DUPLICATE_MAX_KM, allow_nan=False),
    st.floats(0, DUPLICATE_MAX_KM, allow_nan=False),
    st.integers(0, DUPLICATE_MAX_DAYS),
    st.integers(0, DUPLICATE_MAX_DAYS),
)
def test_nearer_in_place_and_time_is_never_less_likely(
    km_a: float, km_b: float, days_a: int, days_b: int
):
    event = _event(place_id=None)
    near = _duplicate_score(
        event, _candidate(distance_km=min(km_a, km_b), days_apart=min(days_a, days_b))
    )
    far = _duplicate_score(
        event, _candidate(distance_km=max(km_a, km_b), days_apart=max(days_a, days_b))
    )
    assert near is not None
    assert far is not None
    assert near[0] >= far[0]
