"""The control ledger's rule (app/control/ledger.py): periods from claims, contested where
claims of different sides reach the same change, imprecise dates shown as such."""

import datetime as dt
import uuid

from app.control.ledger import Claim, periods

D = dt.date


def claim(start: str, side: str, end: str | None = None) -> Claim:
    return Claim(uuid.uuid4(), D.fromisoformat(start), D.fromisoformat(end or start), side)


def test_seized_and_retaken() -> None:
    seized, retaken = claim("2024-08-06", "UA"), claim("2025-03-12", "RU")
    timeline = periods([retaken, seized])
    assert [(p.state, p.sides, p.start, p.end) for p in timeline] == [
        ("held", ["UA"], D(2024, 8, 6), D(2025, 3, 11)),
        ("held", ["RU"], D(2025, 3, 12), None),
    ]
    assert timeline[0].claims == [seized]
    assert timeline[1].claims == [retaken]


def test_claims_of_one_side_continue_a_period() -> None:
    first, again = claim("2024-01-01", "RU"), claim("2024-02-01", "RU")
    [period] = periods([first, again])
    assert (period.sides, period.start, period.end) == (["RU"], D(2024, 1, 1), None)
    assert period.claims == [first, again]


def test_a_repelled_attack_against_an_advance_the_same_day_is_contested() -> None:
    held, taken = claim("2025-03-15", "RU"), claim("2025-03-15", "UA")
    before = claim("2025-01-10", "RU")
    after = claim("2025-04-02", "UA")
    timeline = periods([held, taken, before, after])
    assert [(p.state, p.sides, p.start) for p in timeline] == [
        ("held", ["RU"], D(2025, 1, 10)),
        ("contested", ["RU", "UA"], D(2025, 3, 15)),
        ("held", ["UA"], D(2025, 4, 2)),
    ]
    assert timeline[1].end == D(2025, 4, 1)


def test_a_month_precise_change_has_an_uncertain_start() -> None:
    month = claim("2025-03-01", "RU", end="2025-03-31")
    earlier = claim("2024-11-20", "UA")
    [_, changed] = periods([earlier, month])
    assert (changed.start, changed.start_uncertain_until) == (D(2025, 3, 1), D(2025, 3, 31))
    # A day-precise claim of the other side inside that month contests it.
    inside = claim("2025-03-20", "UA")
    assert periods([earlier, month, inside])[-1].sides == ["RU", "UA"]
    assert periods([earlier, month, inside])[-1].start_uncertain_until is None


def test_no_claims_no_periods() -> None:
    assert periods([]) == []
