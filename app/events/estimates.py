"""An event's estimate of each figure from its sources' claims (docs/figures.md): the rule
PostgreSQL applies in the stored documents (migrations/sql/functions/itk_estimates.sql), for
the event rendered from its rows. tests/events/test_documents.py holds them to one answer."""

from collections.abc import Iterable, Mapping
from typing import Any

FIGURES = ("fatalities", "civilian_fatalities", "wounded", "captured")
# Admiralty grades that make a claim graded: reliability A-C and credibility 1-3 ("C3 or
# better").
GRADED_RELIABILITY = ("A", "B", "C")
GRADED_CREDIBILITY = ("1", "2", "3")


def is_graded(reliability: str, credibility: str) -> bool:
    return reliability in GRADED_RELIABILITY and credibility in GRADED_CREDIBILITY


def _claimed(figures: Mapping[str, Any], name: str) -> int | None:
    value = figures.get(name)
    if value is None and name == "fatalities" and figures.get("fatalities_by_side"):
        return int(sum(figures["fatalities_by_side"].values()))
    return None if value is None else int(value)


def estimates(
    claims: Iterable[tuple[Mapping[str, Any], bool]],
    fatalities: int | None,
    civilian_fatalities: int | None,
) -> dict[str, dict[str, Any] | None]:
    """Per figure: low, best, high, how many sources, and the basis of best (`recorded`: the
    event's own figure; `graded`: the lower median of the claims of sources graded C3 or
    better; `ungraded`: of all claims, none being graded); None when nothing gives it.
    `claims` are (figures, graded) of the sources that give figures."""
    claims = list(claims)
    recorded = {"fatalities": fatalities, "civilian_fatalities": civilian_fatalities}
    result: dict[str, dict[str, Any] | None] = {}
    for name in FIGURES:
        given = [(value, graded) for figures, graded in claims
                 if (value := _claimed(figures, name)) is not None]  # fmt: skip
        any_graded = any(graded for _, graded in given)
        counted = sorted(value for value, graded in given if graded == any_graded)
        own = recorded.get(name)
        if not counted:
            result[name] = None if own is None else {
                "low": own, "best": own, "high": own, "sources": 0, "basis": "recorded"
            }  # fmt: skip
            continue
        result[name] = {
            "low": counted[0],
            "best": own if own is not None else counted[(len(counted) - 1) // 2],
            "high": counted[-1],
            "sources": len(counted),
            "basis": "recorded" if own is not None else "graded" if any_graded else "ungraded",
        }
    return result


# Sources' figures are disputed when, for any figure, the largest claim is more than this many
# times the smallest (a smallest of 0 counting as 1): 0 against 2 is not disputed, 0 against 3
# is, as 10 against 21. Every claim counts here, graded or not: the disagreement is the news.
DISPUTE_FACTOR = 2


def figures_disputed(claimed: Iterable[Mapping[str, Any]]) -> bool:
    """Whether the sources' figures (each source's `figures`) differ by more than
    DISPUTE_FACTOR on any figure; the same rule as itk_figures_disputed."""
    claimed = list(claimed)
    for name in FIGURES:
        values = [value for figures in claimed if (value := _claimed(figures, name)) is not None]
        if values and max(values) > DISPUTE_FACTOR * max(min(values), 1):
            return True
    return False
