"""The estimate rule (app/events/estimates.py): graded claims first, the lower median, the
event's own figure as best."""

from app.events.estimates import estimates, is_graded

OFFICIAL = ({"fatalities": 120, "captured": 6}, False)  # E5
INDEPENDENT = ({"fatalities": 4, "wounded": 11}, True)  # B3
OTHER_SIDE = ({"fatalities": 0, "civilian_fatalities": 0}, False)  # E4
REUTERS = ({"fatalities_by_side": {"UA": 7, "RU": 3}}, True)  # B2, sides only


def test_graded_claims_decide_when_there_are_any():
    found = estimates([OFFICIAL, INDEPENDENT, OTHER_SIDE], None, None)
    assert found["fatalities"] == {
        "low": 4, "best": 4, "high": 4, "sources": 1, "basis": "graded"
    }  # fmt: skip
    assert found["wounded"] == {"low": 11, "best": 11, "high": 11, "sources": 1, "basis": "graded"}
    # No graded source gives these: every claim counts.
    assert found["captured"] == {"low": 6, "best": 6, "high": 6, "sources": 1, "basis": "ungraded"}
    assert found["civilian_fatalities"]["basis"] == "ungraded"


def test_the_lower_median_and_the_sides_sum():
    found = estimates([OFFICIAL, INDEPENDENT, REUTERS], None, None)
    assert found["fatalities"] == {
        "low": 4, "best": 4, "high": 10, "sources": 2, "basis": "graded"
    }  # fmt: skip
    three = estimates([OFFICIAL, OTHER_SIDE, ({"fatalities": 30}, False)], None, None)
    assert three["fatalities"]["best"] == 30
    assert (three["fatalities"]["low"], three["fatalities"]["high"]) == (0, 120)


def test_the_events_own_figure_is_best():
    found = estimates([OFFICIAL, INDEPENDENT], 12, None)
    assert found["fatalities"] == {
        "low": 4, "best": 12, "high": 4, "sources": 1, "basis": "recorded"
    }  # fmt: skip
    alone = estimates([], 3, 1)
    assert alone["fatalities"] == {"low": 3, "best": 3, "high": 3, "sources": 0,
                                   "basis": "recorded"}  # fmt: skip
    assert alone["civilian_fatalities"]["best"] == 1
    assert alone["wounded"] is None
    assert estimates([], None, None) == dict.fromkeys(
        ("fatalities", "civilian_fatalities", "wounded", "captured")
    )


def test_c3_or_better_is_graded():
    assert is_graded("C", "3")
    assert is_graded("A", "1")
    assert not is_graded("D", "1")
    assert not is_graded("B", "4")
